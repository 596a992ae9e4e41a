-- The CRC-32 of each stored original (as ZIP wants it, PKWARE APPNOTE 4.4.7), taken at import
-- with its SHA-256: a share package then takes both from the index and never decrypts an
-- object twice. NULL for objects imported before.
ALTER TABLE instances ADD COLUMN crc32 INTEGER
