-- Breach reports: which package a disclosure was (its manifest's package id, so
-- "what went out in package 1c0ffee5..." can be answered) and, per study, the SOP Instance UIDs
-- of the images it sent (JSON list; empty for disclosures recorded before, whose images are
-- inferred from the series they sent). HIPAA 45 CFR 164.404(c), GDPR Art. 33(3).
ALTER TABLE disclosures ADD COLUMN package_id TEXT NOT NULL DEFAULT '';
ALTER TABLE disclosure_items ADD COLUMN instance_uids TEXT NOT NULL DEFAULT '[]';
CREATE INDEX disclosures_package ON disclosures(package_id) WHERE package_id != '';
