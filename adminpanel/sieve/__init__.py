"""ManageSieve (RFC 5804) over sievelib, and the Sieve the rule builder writes."""
