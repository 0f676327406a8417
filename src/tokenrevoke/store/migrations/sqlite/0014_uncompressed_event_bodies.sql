-- Nothing to change here: SQLite does not compress values. PostgreSQL's 0014 stops it
-- trying on revocation event bodies; the file keeps both backends' migrations numbered
-- alike.
SELECT 1;
