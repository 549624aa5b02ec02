-- Bench fixture: one experiment with :runs runs, each with 10 metrics (latest point and one history
-- point) and 5 params, drawn from fixed distributions. Deterministic: setseed fixes random().
SELECT setseed(0.42);
INSERT INTO experiments (id, name, lifecycle_stage, created_at, updated_at)
VALUES ('bench-experiment', 'bench', 'active', 0, 0);
INSERT INTO runs (id, experiment_id, name, status, start_time, end_time, lifecycle_stage, created_at, updated_at)
SELECT 'run-' || lpad(i::text, 7, '0'), 'bench-experiment', 'run ' || i,
       (ARRAY['FINISHED','FINISHED','FINISHED','FAILED','RUNNING'])[1 + (i % 5)],
       1700000000000 + i * 1000, 1700000000000 + i * 1000 + 60000, 'active', 0, 0
FROM generate_series(1, :runs) AS i;
INSERT INTO latest_metrics (run_id, "key", "value", "timestamp", step)
SELECT 'run-' || lpad(i::text, 7, '0'), m, random() * 2, 1700000000000 + i * 1000, 100
FROM generate_series(1, :runs) AS i,
     unnest(ARRAY['rmse','mae','accuracy','sharpe','drawdown','pnl','volume','loss','val_loss','returns']) AS m;
INSERT INTO metrics (run_id, "key", "value", "timestamp", step)
SELECT run_id, "key", "value", "timestamp", step FROM latest_metrics;
INSERT INTO params (run_id, "key", "value")
SELECT 'run-' || lpad(i::text, 7, '0'), p,
       CASE p WHEN 'model' THEN (ARRAY['tree','linear','forest','xgb','nn'])[1 + floor(random() * 5)::int]
              ELSE (floor(random() * 100))::text END
FROM generate_series(1, :runs) AS i,
     unnest(ARRAY['model','lr','depth','window','seed']) AS p;
ANALYZE;
