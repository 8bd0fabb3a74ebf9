"""Hall management: attendance, performance, duty roster, notices and alerts for the manager."""
