-- Internal: the proof a sync uses to skip looking for invalid records (NULL or
-- repeated identifiers), callable so that tests can check it. Not STRICT, like
-- the other functions: a NULL argument is an error, not a NULL answer.
CREATE FUNCTION reverse_etl._key_is_unique(query text, key_column text)
RETURNS boolean LANGUAGE c STABLE AS 'MODULE_PATHNAME', 'reverse_etl_key_is_unique';
COMMENT ON FUNCTION reverse_etl._key_is_unique(text, text) IS
'Internal: true when the catalogs prove that key_column of the query''s result is never NULL and never repeats (a plain SELECT of one table whose key column is NOT NULL, or kept non-NULL by WHERE, and alone in a unique index); false when they do not prove it.';
