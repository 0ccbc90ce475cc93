"""A DatabricksStep script: scale the ``value`` column of a CSV input by ``--factor`` with Spark."""

import argparse
import json
import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jupyter_amlpipe import Run

parser = argparse.ArgumentParser()
parser.add_argument("--factor", type=float, required=True)
parser.add_argument("--raw", required=True)
parser.add_argument("--scaled", required=True)
args = parser.parse_args()
print("SPARK_ARGV " + json.dumps(sys.argv[1:]), flush=True)

spark = SparkSession.builder.getOrCreate()
print("SPARK_MASTER " + json.dumps(spark.sparkContext.master), flush=True)
df = spark.read.csv(args.raw, header=True, inferSchema=True)
scaled = df.withColumn("scaled", F.col("value") * args.factor)
scaled.coalesce(1).write.mode("overwrite").csv(args.scaled, header=True)
run = Run.get_context()
run.log("rows", df.count())
run.log("total", scaled.agg(F.sum("scaled")).first()[0])
spark.stop()
