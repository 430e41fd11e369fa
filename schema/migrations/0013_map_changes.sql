-- What the vector tile cache (server/tile_cache.hpp) hears about, besides observations: the
-- loaded geodata (the base layers; load_geodata rewrites geo_layers in the same transaction as
-- the layers), imagery footprints, and analysts' convoy edits (the convoy tracks).
CREATE TRIGGER geo_layers_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON geo_layers
  FOR EACH STATEMENT EXECUTE FUNCTION cw_notify_change();
CREATE TRIGGER imagery_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON imagery
  FOR EACH STATEMENT EXECUTE FUNCTION cw_notify_change();
CREATE TRIGGER convoy_edits_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON convoy_edits
  FOR EACH STATEMENT EXECUTE FUNCTION cw_notify_change();
