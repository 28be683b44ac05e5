"""socialcredit: a national social-credit platform with derived scores and due process."""

__version__ = "0.1.0"
