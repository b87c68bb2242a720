-- Email templates (CreateEmailTemplate): the content is the EmailTemplateContent JSON.
CREATE TABLE email_templates (
    name TEXT PRIMARY KEY,
    content TEXT NOT NULL,
    tags TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL
);
