-- Where the loaded geodata came from: the files built into the program (what `migrate` keeps up
-- to date with the program's version) or a folder (`geodata load --dir`, which `migrate` keeps).
ALTER TABLE geo_layers ADD COLUMN builtin boolean NOT NULL DEFAULT true;
