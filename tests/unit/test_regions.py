"""config.regions reads botocore's endpoint data itself (importing botocore's session costs half a second before a
bad config can be refused): every answer is botocore's own."""

from __future__ import annotations

import subprocess
import sys

import botocore.regions
import botocore.session

from config.regions import dns_suffix, known_regions, partition_of


def test_regions_partitions_and_suffixes_are_botocores():
    session = botocore.session.get_session()
    expected = {
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("sts", partition_name=partition)
    }
    assert known_regions() == expected
    resolver = botocore.regions.EndpointResolver(session.get_component("data_loader").load_data("endpoints"))
    for region in expected | {"eu-future-9", "cn-future-9", "us-gov-future-9"}:  # also regions botocore has not met
        assert partition_of(region) == session.get_partition_for_region(region), region
    for partition in session.get_available_partitions():
        assert dns_suffix(partition) == resolver.get_partition_dns_suffix(partition), partition


def test_validating_a_config_loads_no_botocore():
    code = "import sys, config; config.load_config('config/example.yaml'); print('botocore' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
