-- The task force's coordinators: the one role that manages users and tokens of every
-- organisation (an admin manages only their own). Created from the command line only.
ALTER TYPE user_role ADD VALUE IF NOT EXISTS 'coordinator';
