-- Every change to a conversation's members tells every instance (LISTEN
-- conversation_members_changed) at commit, whoever made it: the app on any
-- instance, an account deletion's cascade, or an operator's SQL.
CREATE FUNCTION notify_members_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(
    'conversation_members_changed',
    (CASE WHEN TG_OP = 'DELETE' THEN OLD.conversation_id ELSE NEW.conversation_id END)::text
  );
  RETURN NULL;
END
$$;

CREATE TRIGGER conversation_members_changed
AFTER INSERT OR UPDATE OF user_id, conversation_id OR DELETE ON conversation_members
FOR EACH ROW EXECUTE FUNCTION notify_members_changed();
