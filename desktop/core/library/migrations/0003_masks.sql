-- Redaction masks: the shapes painted on an image, kept so the work survives closing
-- the app. One mask per instance and scope: a series-wide mask is stored on the instance it was
-- drawn on and applies to every same-size image of its series.
CREATE TABLE masks (
    instance_ref INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    scope TEXT NOT NULL CHECK (scope IN ('frame', 'image', 'series')),
    frame INTEGER NOT NULL DEFAULT 0,
    mask_json TEXT NOT NULL,
    updated TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (instance_ref, scope, frame)
);
