-- trailpq schema v1: table cloudtrail for Spark SQL, reading the lake folder
-- s3://example-bucket/lake/cloudtrail/account=ACCOUNT/region=REGION/year=YYYY/month=MM/day=DD/
CREATE TABLE `cloudtrail` (
  `eventversion` STRING,
  `useridentity` STRUCT<
    `type`: STRING,
    `principalid`: STRING,
    `arn`: STRING,
    `accountid`: STRING,
    `invokedby`: STRING,
    `accesskeyid`: STRING,
    `username`: STRING,
    `credentialid`: STRING,
    `identityprovider`: STRING,
    `onbehalfof`: STRUCT<
      `userid`: STRING,
      `identitystorearn`: STRING>,
    `inscopeof`: STRUCT<
      `sourcearn`: STRING,
      `sourceaccount`: STRING,
      `issuertype`: STRING,
      `credentialsissuedto`: STRING>,
    `invokedbydelegate`: STRUCT<
      `accountid`: STRING>,
    `sessioncontext`: STRUCT<
      `sessionissuer`: STRUCT<
        `type`: STRING,
        `principalid`: STRING,
        `arn`: STRING,
        `accountid`: STRING,
        `username`: STRING>,
      `webidfederationdata`: STRUCT<
        `federatedprovider`: STRING,
        `attributes`: MAP<STRING, STRING>>,
      `attributes`: STRUCT<
        `creationdate`: STRING,
        `mfaauthenticated`: STRING>,
      `sourceidentity`: STRING,
      `ec2roledelivery`: STRING,
      `assumedroot`: STRING,
      `signinsessionarn`: STRING,
      `ec2issuedinvpc`: STRING>>,
  `eventtime` TIMESTAMP,
  `eventsource` STRING,
  `eventname` STRING,
  `awsregion` STRING,
  `sourceipaddress` STRING,
  `useragent` STRING,
  `errorcode` STRING,
  `errormessage` STRING,
  `requestparameters` STRING,
  `responseelements` STRING,
  `additionaleventdata` STRING,
  `requestid` STRING,
  `eventid` STRING,
  `resources` ARRAY<STRUCT<
    `arn`: STRING,
    `accountid`: STRING,
    `type`: STRING,
    `arnprefix`: STRING>>,
  `eventtype` STRING,
  `apiversion` STRING,
  `readonly` BOOLEAN,
  `recipientaccountid` STRING,
  `serviceeventdetails` STRING,
  `sharedeventid` STRING,
  `vpcendpointid` STRING,
  `vpcendpointaccountid` STRING,
  `eventcategory` STRING,
  `addendum` STRUCT<
    `reason`: STRING,
    `updatedfields`: STRING,
    `originalrequestid`: STRING,
    `originaleventid`: STRING>,
  `sessioncredentialfromconsole` STRING,
  `edgedevicedetails` STRING,
  `tlsdetails` STRUCT<
    `tlsversion`: STRING,
    `ciphersuite`: STRING,
    `clientprovidedhostheader`: STRING,
    `keyexchange`: STRING>,
  `managementevent` BOOLEAN,
  `insightdetails` STRING,
  `unmapped` STRING,
  `account` STRING,
  `region` STRING,
  `year` STRING,
  `month` STRING,
  `day` STRING
)
USING PARQUET
PARTITIONED BY (`account`, `region`, `year`, `month`, `day`)
LOCATION 's3://example-bucket/lake/cloudtrail/';

-- The catalog keeps the list of partitions: this registers the days
-- the lake holds now (ALTER TABLE ... RECOVER PARTITIONS does the same).
-- Run it again after each trailpq convert that adds days.
MSCK REPAIR TABLE `cloudtrail`;
