-- trailpq schema v1: table cloudtrail for Trino's Hive connector, reading the lake folder
-- s3://example-bucket/lake/cloudtrail/account=ACCOUNT/region=REGION/year=YYYY/month=MM/day=DD/
CREATE TABLE "hive"."default"."cloudtrail" (
  "eventversion" varchar,
  "useridentity" row(
    "type" varchar,
    "principalid" varchar,
    "arn" varchar,
    "accountid" varchar,
    "invokedby" varchar,
    "accesskeyid" varchar,
    "username" varchar,
    "credentialid" varchar,
    "identityprovider" varchar,
    "onbehalfof" row(
      "userid" varchar,
      "identitystorearn" varchar),
    "inscopeof" row(
      "sourcearn" varchar,
      "sourceaccount" varchar,
      "issuertype" varchar,
      "credentialsissuedto" varchar),
    "invokedbydelegate" row(
      "accountid" varchar),
    "sessioncontext" row(
      "sessionissuer" row(
        "type" varchar,
        "principalid" varchar,
        "arn" varchar,
        "accountid" varchar,
        "username" varchar),
      "webidfederationdata" row(
        "federatedprovider" varchar,
        "attributes" map(varchar, varchar)),
      "attributes" row(
        "creationdate" varchar,
        "mfaauthenticated" varchar),
      "sourceidentity" varchar,
      "ec2roledelivery" varchar,
      "assumedroot" varchar,
      "signinsessionarn" varchar,
      "ec2issuedinvpc" varchar)),
  "eventtime" timestamp(3),
  "eventsource" varchar,
  "eventname" varchar,
  "awsregion" varchar,
  "sourceipaddress" varchar,
  "useragent" varchar,
  "errorcode" varchar,
  "errormessage" varchar,
  "requestparameters" varchar,
  "responseelements" varchar,
  "additionaleventdata" varchar,
  "requestid" varchar,
  "eventid" varchar,
  "resources" array(row(
    "arn" varchar,
    "accountid" varchar,
    "type" varchar,
    "arnprefix" varchar)),
  "eventtype" varchar,
  "apiversion" varchar,
  "readonly" boolean,
  "recipientaccountid" varchar,
  "serviceeventdetails" varchar,
  "sharedeventid" varchar,
  "vpcendpointid" varchar,
  "vpcendpointaccountid" varchar,
  "eventcategory" varchar,
  "addendum" row(
    "reason" varchar,
    "updatedfields" varchar,
    "originalrequestid" varchar,
    "originaleventid" varchar),
  "sessioncredentialfromconsole" varchar,
  "edgedevicedetails" varchar,
  "tlsdetails" row(
    "tlsversion" varchar,
    "ciphersuite" varchar,
    "clientprovidedhostheader" varchar,
    "keyexchange" varchar),
  "managementevent" boolean,
  "insightdetails" varchar,
  "unmapped" varchar,
  "account" varchar,
  "region" varchar,
  "year" varchar,
  "month" varchar,
  "day" varchar
)
WITH (
  external_location = 's3://example-bucket/lake/cloudtrail/',
  format = 'PARQUET',
  partitioned_by = ARRAY['account', 'region', 'year', 'month', 'day']
);

-- The metastore keeps the list of partitions: this registers the days
-- the lake holds now. Run it again after each trailpq convert that adds
-- days.
CALL "hive".system.sync_partition_metadata(
  schema_name => 'default',
  table_name => 'cloudtrail',
  mode => 'FULL');
