package org.xenpci.libxl.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.xenpci.libxl.guest.ReferenceGuest;
import org.xenpci.libxl.host.XenHost;
import org.xenpci.libxl.toolstack.Libxl;
import org.xenpci.libxl.toolstack.LibxlDomain;

/**
 * The CLI's JSON reports for the rest of the tool ({@code xenpci serve}): the
 * {@code boot --json} report (docs/cli.md) and {@code summary.json} (docs/cli-toolstack.md).
 * Not API: the package is not exported.
 */
public final class Reports {
    private Reports() {
    }

    /** The version {@code xenpci --version} prints. */
    public static String version() {
        return XenpciCli.version();
    }

    /** The {@code boot --json} report of a booted host. */
    public static ObjectNode boot(XenHost host) {
        return BootReport.json(host);
    }

    /**
     * {@code summary.json} for {@code domains}. A domain with no entry in {@code probes} (its
     * reference guest did not run) has {@code "guestProbe": null}.
     */
    public static ObjectNode summary(Libxl libxl, List<LibxlDomain> domains, Map<Integer, ReferenceGuest.Probe> probes) {
        List<GuestRun.Created> created = new ArrayList<>();
        ReferenceGuest.Probe none = new ReferenceGuest.Probe(List.of(), List.of(), 0);
        for (LibxlDomain d : domains) {
            created.add(new GuestRun.Created(d, probes.getOrDefault(d.domid(), none)));
        }
        ObjectNode root = GuestRun.summary(libxl, created);
        var doms = root.withArray("domains");
        for (int i = 0; i < domains.size(); i++) {
            if (!probes.containsKey(domains.get(i).domid())) {
                ((ObjectNode) doms.get(i)).putNull("guestProbe");
            }
        }
        return root;
    }
}
