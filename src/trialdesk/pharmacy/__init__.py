"""Drug accountability per site (ICH E6 4.6): shipments and lots received, vials dispensed, returned or destroyed, the balance (issue 9)."""
