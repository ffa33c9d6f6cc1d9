"""Identity and access: principals, policies, request signatures (SigV4)."""
