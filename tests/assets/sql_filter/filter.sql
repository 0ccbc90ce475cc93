-- Orders of the customers in the parquet folder, at least @min_amount, for one region.
CREATE TABLE picked AS
SELECT o.order_id, o.amount, c.name
FROM orders AS o
JOIN customers AS c USING (customer_id)
WHERE o.amount >= @min_amount AND c.region = @region;

SELECT count(*) AS n FROM picked;

COPY (SELECT * FROM picked ORDER BY order_id) TO ($picked || '/picked.parquet') (FORMAT parquet);
COPY (SELECT count(*) AS n, sum(amount) AS total FROM picked) TO (getvariable('summary') || '/summary.csv') (HEADER);
