"""Presentation, pure value → text: mail, digest and report text, charts, the phase diagram,
words and number and date formatting in Danish and English. No database code here."""
