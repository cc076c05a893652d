"""The pure domain: retail facts and the rules over them.

Nothing here does I/O, reads the clock or imports a framework; time is passed in.
Money is integer minor units plus an ISO-4217 currency (see ``money``).
"""
