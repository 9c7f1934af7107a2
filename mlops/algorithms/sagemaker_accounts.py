ACCOUNTS: dict[str, frozenset[str]] = {
    "af-south-1": frozenset({"455444449433", "510948584623"}),
    "ap-east-1": frozenset({"286214385809", "651117190479"}),
    "ap-northeast-1": frozenset({"351501993468", "354813040037"}),
    "ap-northeast-2": frozenset({"366743142698", "835164637446"}),
    "ap-northeast-3": frozenset({"867004704886"}),
    "ap-south-1": frozenset({"720646828776", "991648021394"}),
    "ap-south-2": frozenset({"628508329040"}),
    "ap-southeast-1": frozenset({"121021644041", "475088953585"}),
    "ap-southeast-2": frozenset({"712309505854", "783357654285"}),
    "ap-southeast-3": frozenset({"951798379941"}),
    "ap-southeast-4": frozenset({"106583098589"}),
    "ca-central-1": frozenset({"341280168497", "469771592824"}),
    "ca-west-1": frozenset({"190319476487"}),
    "cn-north-1": frozenset({"390948362332", "450853457545"}),
    "cn-northwest-1": frozenset({"387376663083", "451049120500"}),
    "eu-central-1": frozenset({"492215442770", "664544806723"}),
    "eu-central-2": frozenset({"680994064768"}),
    "eu-north-1": frozenset({"662702820516", "669576153137"}),
    "eu-south-1": frozenset({"257386234256", "978288397137"}),
    "eu-south-2": frozenset({"104374241257"}),
    "eu-west-1": frozenset({"141502667606", "438346466558"}),
    "eu-west-2": frozenset({"644912444149", "764974769150"}),
    "eu-west-3": frozenset({"659782779980", "749696950732"}),
    "il-central-1": frozenset({"898809789911"}),
    "me-central-1": frozenset({"272398656194"}),
    "me-south-1": frozenset({"249704162688", "801668240914"}),
    "sa-east-1": frozenset({"737474898029", "855470959533"}),
    "us-east-1": frozenset({"382416733822", "683313688378"}),
    "us-east-2": frozenset({"257758044811", "404615174143"}),
    "us-gov-east-1": frozenset({"237065988967"}),
    "us-gov-west-1": frozenset({"226302683700", "414596584902"}),
    "us-iso-east-1": frozenset({"490574956308", "833128469047"}),
    "us-isob-east-1": frozenset({"281123927165", "765400339828"}),
    "us-isof-east-1": frozenset({"108575199400"}),
    "us-isof-south-1": frozenset({"124985052026"}),
    "us-west-1": frozenset({"632365934929", "746614075791"}),
    "us-west-2": frozenset({"174872318107", "246618743249"}),
}

# Region prefix -> the partition's domain; the longest matching prefix wins, "" is the commercial one.
_DOMAINS = {
    "": "amazonaws.com",
    "cn-": "amazonaws.com.cn",
    "us-iso-": "c2s.ic.gov",
    "us-isob-": "sc2s.sgov.gov",
    "us-isof-": "csp.hci.ic.gov",
}


def ecr_domain(region: str) -> str:
    prefix = max((p for p in _DOMAINS if region.startswith(p)), key=len)
    return _DOMAINS[prefix]
