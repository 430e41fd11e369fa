-- The audit log is append-only for everyone but one explicit maintenance role.
--
-- The application role (convoywatch_app, store/roles.hpp) has no UPDATE, DELETE or TRUNCATE grant
-- on audit_log; this trigger refuses them to every other role too, the owner and superusers
-- included, unless the session has switched to convoywatch_audit_maintenance (SET ROLE). A
-- superuser can still drop the trigger: that is DDL, which the application role cannot do, and
-- the hash chain (`convoywatch audit verify`) shows any row changed behind it.
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
  IF current_user = 'convoywatch_audit_maintenance' THEN
    IF TG_OP = 'DELETE' THEN
      RETURN OLD;
    END IF;
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only: % refused for role %', TG_OP, current_user
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'audit rows are changed or removed only as the role '
                 'convoywatch_audit_maintenance (SET ROLE), for maintenance';
END
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

-- The canonical text of a row is built by the program from built-in casts (store/audit.cpp), so
-- a redefined function can no longer make a rewritten row verify.
DROP FUNCTION audit_canonical(audit_log);
