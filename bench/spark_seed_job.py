"""The seed's own ingestion job (../shared/seed/000_ea30a45e1041ad93.txt):
Spark Structured Streaming reads a Kafka topic (startingOffsets earliest,
maxOffsetsPerTrigger, failOnDataLoss false) and MERGEs each micro-batch into
a Delta table with the seed's SQL (get_json_object extraction, ROW_NUMBER
ranking by ts_ms DESC, offset DESC, the MATCHED/NOT MATCHED clauses), via
foreachBatch. Run by bench/ingest_spark, pinned to one core with
spark.master local[1]; prints one JSON line with the wall and CPU seconds of
the streaming query (JVM + Python driver, from /proc), excluding the Spark
session's start-up.

Usage: python spark_seed_job.py BOOTSTRAP TOPIC TABLE CHECKPOINT MAX_OFFSETS
"""
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
JARS = [REPO / ".cache" / "spark-jars", REPO / ".cache" / "spark-kafka-jars"]

SEED_MERGE = """
MERGE INTO delta.`{table}` AS target
USING (
  SELECT * FROM (
    SELECT ts_ms, `offset`, operation_type, id,
           COALESCE(after_record, before_record) AS after_record,
           ROW_NUMBER() OVER (PARTITION BY id ORDER BY ts_ms DESC, `offset` DESC) AS rank
    FROM (
      SELECT ts_ms, `offset`, operation_type, before_record, after_record,
             CAST(get_json_object(COALESCE(after_record, before_record), '$.id') AS BIGINT) AS id
      FROM (
        SELECT get_json_object(string(value), '$.payload.op') AS operation_type,
               get_json_object(string(value), '$.payload.before') AS before_record,
               get_json_object(string(value), '$.payload.after') AS after_record,
               CAST(get_json_object(string(value), '$.payload.ts_ms') AS BIGINT) AS ts_ms,
               `offset`
        FROM incremental
      ) binlog
    ) binlog_wo_init
  ) binlog_rank
  WHERE rank = 1
) AS source
ON target.id = source.id
WHEN MATCHED AND (source.operation_type = 'u' OR source.operation_type = 'd') THEN
  UPDATE SET id = source.id, ts_ms = source.ts_ms, json_record = source.after_record,
             operation_type = source.operation_type, `offset` = source.`offset`
WHEN NOT MATCHED AND (source.operation_type = 'c' OR source.operation_type = 'u'
                      OR source.operation_type = 'd') THEN
  INSERT (id, ts_ms, json_record, operation_type, `offset`)
  VALUES (source.id, source.ts_ms, source.after_record, source.operation_type, source.`offset`)
"""


def proc_cpu(pid):
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    bootstrap, topic, table, ckpt, max_offsets = sys.argv[1:6]
    jars = [str(j) for d in JARS for j in sorted(d.glob("*.jar"))]
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master("local[1]").appName("seed-cdc-merge")
             .config("spark.jars", ",".join(jars))
             .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
             .config("spark.sql.catalog.spark_catalog",
                     "org.apache.spark.sql.delta.catalog.DeltaCatalog")
             .config("spark.sql.shuffle.partitions", "1")
             .config("spark.ui.enabled", "false")
             .config("spark.driver.memory", "2g")
             .getOrCreate())
    spark.sparkContext.setLogLevel("WARN")
    spark.sql(f"CREATE TABLE IF NOT EXISTS delta.`{table}` (id bigint, ts_ms bigint, "
              f"json_record string, operation_type string, `offset` bigint) USING delta")
    jvm = spark._jvm.java.lang.ProcessHandle.current().pid()
    batches = []

    def merge(batch_df, batch_id):
        t = time.time()
        batch_df.createOrReplaceTempView("incremental")
        batch_df.sparkSession.sql(SEED_MERGE.format(table=table))
        batches.append(round(time.time() - t, 3))

    cpu0 = proc_cpu(jvm) + sum(os.times()[:2])
    t0 = time.time()
    q = (spark.readStream.format("kafka")
         .option("kafka.bootstrap.servers", bootstrap)
         .option("subscribe", topic)
         .option("startingOffsets", "earliest")
         .option("maxOffsetsPerTrigger", max_offsets)
         .option("failOnDataLoss", "false")
         .load()
         .writeStream.foreachBatch(merge)
         .option("checkpointLocation", ckpt)
         .trigger(availableNow=True)
         .start())
    q.awaitTermination()
    wall = time.time() - t0
    cpu = proc_cpu(jvm) + sum(os.times()[:2]) - cpu0
    rows = spark.sql(f"SELECT count(*) FROM delta.`{table}`").collect()[0][0]
    print(json.dumps({"wall": wall, "cpu": cpu, "batches": batches, "rows": rows}))
    spark.stop()


if __name__ == "__main__":
    main()
