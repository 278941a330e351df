#!/usr/bin/env python3
"""The call table from CloudTrail log files with Spark SQL in local mode (docs/SCALE.md).

    python3 scripts/spark-calls.py TRAIL_DIR OUT.csv

Reads every log file under TRAIL_DIR/**/CloudTrail/** ({"Records":[...]}, gzipped or not) into a
view `cloudtrail` with the standard Athena CloudTrail table's column names, runs
queries/spark/calls.sql, and writes the result as CSV (empty field for NULL), rows sorted.
Needs pyspark (pip install pyspark==3.5.3) and Java 17.
"""
import csv
import os
import sys

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

from pyspark.sql import SparkSession  # noqa: E402

RECORD = (
    "Records array<struct<"
    "eventVersion:string,"
    "userIdentity:struct<type:string,principalId:string,arn:string,accountId:string,"
    "invokedBy:string,accessKeyId:string,userName:string,identityProvider:string,"
    "sessionContext:struct<sessionIssuer:struct<type:string,principalId:string,arn:string,"
    "accountId:string,userName:string>>>,"
    "eventTime:string,eventSource:string,eventName:string,awsRegion:string,"
    "errorCode:string,errorMessage:string,requestParameters:string,responseElements:string,"
    "eventID:string,eventType:string,recipientAccountId:string>>"
)


def main():
    trail, out = sys.argv[1], sys.argv[2]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "queries", "spark", "calls.sql")) as f:
        sql = f.read()
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("iamtrim-calls")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    files = (
        spark.read.schema(RECORD)
        .option("multiLine", "true")
        .option("recursiveFileLookup", "true")
        .option("pathGlobFilter", "*.json*")
        .json(trail)
    )
    files.createOrReplaceTempView("files")
    spark.sql(
        """
        SELECT r.eventVersion AS eventversion, r.userIdentity AS useridentity,
               r.eventTime AS eventtime, r.eventSource AS eventsource, r.eventName AS eventname,
               r.awsRegion AS awsregion, r.errorCode AS errorcode,
               r.errorMessage AS errormessage, r.requestParameters AS requestparameters,
               r.responseElements AS responseelements, r.eventID AS eventid,
               r.eventType AS eventtype, r.recipientAccountId AS recipientaccountid
        FROM files LATERAL VIEW explode(Records) x AS r
        WHERE input_file_name() LIKE '%/CloudTrail/%'
        """
    ).createOrReplaceTempView("cloudtrail")
    result = spark.sql(sql)
    columns = result.columns
    rows = [["" if v is None else str(v) for v in row] for row in result.collect()]
    rows.sort()
    with open(out, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    spark.stop()


if __name__ == "__main__":
    main()
