-- kpi_daily: the loyalty KPIs per local date of the program timezone (docs/kpis.md).
-- retention_rate here compares a day with the day before; the monthly mart is the usual read.
CREATE OR REPLACE VIEW kpi_daily AS
WITH

final AS (
    SELECT period AS local_date, * EXCLUDE (period, period_end)
    FROM kpis_by_period('day')
)

SELECT * FROM final
