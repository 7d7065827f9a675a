package org.xenpci.armpci;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.pci.Sbdf;

/**
 * {@code d->pdev_list} as a list linked through the pdevs: whatever the order of links and
 * unlinks (unlinking a pdev that is not listed included), it reads newest first exactly as a
 * plain list of the same operations does.
 */
class DomainPdevsTest {
    @Test
    @DisplayName("seeded links and unlinks: the intrusive list equals a plain list, newest first")
    void matchesPlainList() {
        ReentrantLock lock = new ReentrantLock();
        for (long seed = 1; seed <= 20; seed++) {
            Random rnd = new Random(seed);
            List<Pdev> pdevs = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                pdevs.add(new Pdev(new Sbdf(0, 1, i >> 3, i & 7), PdevType.PCIE_ENDPOINT, 0, lock));
            }
            PdevRegistry.DomainPdevs list = new PdevRegistry.DomainPdevs();
            List<Pdev> model = new ArrayList<>(); // oldest first
            for (int op = 0; op < 2000; op++) {
                Pdev p = pdevs.get(rnd.nextInt(pdevs.size()));
                if (model.contains(p)) {
                    list.remove(p);
                    model.remove(p);
                } else if (rnd.nextInt(5) == 0) {
                    list.remove(p); // not listed: no effect
                } else {
                    list.add(p);
                    model.add(p);
                }
                List<Pdev> expect = new ArrayList<>(model);
                java.util.Collections.reverse(expect);
                assertThat(list.newestFirst()).as("seed %d op %d", seed, op).containsExactlyElementsOf(expect);
            }
        }
    }
}
