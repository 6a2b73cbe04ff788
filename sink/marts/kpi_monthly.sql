-- kpi_monthly: the loyalty KPIs per calendar month of the program timezone (docs/kpis.md).
CREATE OR REPLACE VIEW kpi_monthly AS
WITH

final AS (
    SELECT strftime(period, '%Y-%m') AS month, period AS month_start, * EXCLUDE (period, period_end)
    FROM kpis_by_period('month')
)

SELECT * FROM final
