"""The second-generation ID-card reader (二代证阅读器): GA 467 security module over a serial line."""
