-- sales_by_store: accepted sales and returns per store and month (program timezone).
CREATE OR REPLACE VIEW sales_by_store AS
WITH

receipts AS (
    SELECT * FROM stg_receipts
),

final AS (
    SELECT
        strftime(date_trunc('month', local_date), '%Y-%m') AS month,
        store_id,
        count(*) FILTER (WHERE kind = 'SALE') AS sale_receipts,
        coalesce(sum(total) FILTER (WHERE kind = 'SALE'), 0) AS sales_amount,
        coalesce(sum(total) FILTER (WHERE kind = 'RETURN'), 0) AS returns_amount,
        coalesce(sum(total) FILTER (WHERE kind = 'SALE'), 0)
            - coalesce(sum(total) FILTER (WHERE kind = 'RETURN'), 0) AS net_sales,
        count(DISTINCT member_id) FILTER (WHERE kind = 'SALE') AS members,
        CAST(round(
            sum(total) FILTER (WHERE kind = 'SALE')
                / nullif(count(*) FILTER (WHERE kind = 'SALE'), 0), 2
        ) AS DECIMAL(18, 2)) AS average_basket
    FROM receipts
    GROUP BY ALL
)

SELECT * FROM final ORDER BY month, net_sales DESC
