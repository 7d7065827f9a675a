package org.xenpci.libxl.host;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.xenpci.armpci.Pdev;
import org.xenpci.core.Profile;
import org.xenpci.libxl.guest.HardwareDomainGuest;

class XenHostBootTest {

    @ParameterizedTest(name = "profile {0}")
    @ValueSource(strings = {"upstream", "full"})
    @DisplayName("booting the default platform registers every function dom0 finds, owned by dom0")
    void bootsDefaultPlatform(String profile) {
        XenHost host = XenHost.boot(DefaultPlatform.build(), Profile.named(profile));
        List<String> found = host.enumeration().functions().stream()
                .map(r -> r.function().sbdf() + " " + Integer.toHexString(r.function().vendor()) + ":"
                        + Integer.toHexString(r.function().device()) + " " + r.addResult())
                .collect(Collectors.toList());
        assertThat(found).containsExactly(
                "0000:00:01.0 8086:10d3 Ok[value=0]",
                "0000:00:02.0 1b36:10 Ok[value=0]",
                "0000:00:03.0 1b36:c Ok[value=0]",
                "0000:01:00.0 1af4:1110 Ok[value=0]",
                "0000:00:04.0 8086:293e Ok[value=0]",
                "0000:00:04.1 1b36:2 Ok[value=0]");
        assertThat(host.pci().pdevs().all()).extracting(Pdev::owner).containsOnly(host.xen().hardwareDomain());
        assertThat(host.pci().pdevs().all()).hasSize(6);
        HardwareDomainGuest.Reported nvme = host.enumeration().functions().get(1);
        assertThat(nvme.function().bars()).singleElement().satisfies(b -> {
            assertThat(b.type()).isEqualTo("mem64");
            assertThat(b.size()).isEqualTo(0x4000);
        });
        assertThat(host.enumeration().configAborts()).isZero();
    }
}
