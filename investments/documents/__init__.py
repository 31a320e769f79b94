"""The documents residents keep and the register officers file: bond certificates, annual
statements with the certificate of interest and tax deducted, and the register as at a date.

Each module reads; none writes. Every figure comes from the ledger (the
postings of the holding's own accounts), so what a document says is what
the books say, line by line, with each line's ledger sequence.
"""
