-- The whole text of each audit line: the index, encrypted and transactional, is the
-- source of the audit trail, and audit.log its copy. Veil commits a line here first and then
-- appends it to the file, so a crash or a full disk between the two leaves the file behind,
-- never ahead; the next open (or event) rewrites what is missing from this column. NULL for
-- lines written before (their hash alone is kept, and checked as before).
ALTER TABLE audit_lines ADD COLUMN line BLOB
