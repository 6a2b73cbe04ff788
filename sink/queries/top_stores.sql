-- The stores with the most net sales over the whole history ($limit), for the report.
SELECT
    store_id,
    sum(net_sales) AS net_sales,
    sum(sale_receipts) AS sale_receipts
FROM sales_by_store
GROUP BY store_id
ORDER BY net_sales DESC, store_id
LIMIT $limit
