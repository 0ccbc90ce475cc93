-- line 1
SELECT 1;

SELECT amount
FROM no_such_table;
