-- Announcing a change (what `satupeta` does when it publishes a plan or loads rules) from SQL:
-- servers reload what changed. Registering, changing or removing a tile layer announces itself;
-- after editing the rows of a registered table by hand, call `SELECT satupeta_announce('...')`.
CREATE FUNCTION satupeta_announce(what text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    id bigint;
BEGIN
    INSERT INTO change_log (what) VALUES (what) RETURNING change_log.id INTO id;
    PERFORM pg_notify('satupeta_changes', id::text);
    RETURN id;
END
$$;

CREATE FUNCTION satupeta_tile_layer_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM satupeta_announce('tile layers ' || lower(TG_OP));
    RETURN NULL;
END
$$;

CREATE TRIGGER tile_layer_changed
AFTER INSERT OR UPDATE OR DELETE ON tile_layer
FOR EACH STATEMENT EXECUTE FUNCTION satupeta_tile_layer_changed();
