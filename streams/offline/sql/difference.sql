-- The rows of {first} that {second} lacks, as multisets (EXCEPT ALL keeps repeats), so a
-- row missing, changed or duplicated on one side shows up here.
SELECT {columns} FROM {first}
EXCEPT ALL
SELECT {columns} FROM {second}
