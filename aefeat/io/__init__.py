"""Reading inputs (CSV, gzip, stdin, Parquet) and writing outputs (tables, strict JSON)."""
