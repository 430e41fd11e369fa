-- What the server's read caches (store/change_feed.hpp) hear about: every statement that changes
-- a table they draw on notifies cw_changes with the table's name. Statement-level, so a bulk
-- import is one notification; PostgreSQL folds identical notifications of one transaction into
-- one and delivers them at commit, so a listener never hears of a change it cannot see yet.

CREATE FUNCTION cw_notify_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('cw_changes', TG_TABLE_NAME);
  RETURN NULL;
END
$$;

-- Tokens and who holds them (the token cache); observations and the names their listing joins
-- (the list cache).
CREATE TRIGGER organisations_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON organisations
  FOR EACH STATEMENT EXECUTE FUNCTION cw_notify_change();
CREATE TRIGGER users_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users
  FOR EACH STATEMENT EXECUTE FUNCTION cw_notify_change();
CREATE TRIGGER api_tokens_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON api_tokens
  FOR EACH STATEMENT EXECUTE FUNCTION cw_notify_change();
CREATE TRIGGER observations_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON observations
  FOR EACH STATEMENT EXECUTE FUNCTION cw_notify_change();
CREATE TRIGGER geo_regions_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON geo_regions
  FOR EACH STATEMENT EXECUTE FUNCTION cw_notify_change();
