"""``python -m socialcredit.audit``: a server's audit index maintainer (see
:mod:`socialcredit.audit.maintainer`)."""

from socialcredit.audit.maintainer import main

main()
