package org.xenpci.armpci.gicv3;

/**
 * One device mapped on a host ITS, as Xen's {@code struct its_device} records it
 * (xen/arch/arm/gic-v3-its.c): a snapshot for auditors and tests, from {@link ItsLayer#mappings()}.
 *
 * @param itsPath host DT path of the ITS
 * @param itsBase machine address of the ITS
 * @param hostDevid host DeviceID (what the device's writes carry)
 * @param domid the domain the mapping belongs to
 * @param guestDevid the DeviceID the domain uses on its vITS
 * @param guestDoorbell the guest-physical doorbell of that vITS
 * @param events EventIDs in the ITT (a power of two, at least 32); each has one host LPI
 * @param ittAddress machine address of the ITT
 * @param ittBytes bytes the ITT occupies
 * @param reserved true if the ITT sits in memory reserved for the device at assignment
 *        ({@link ItsReservation}), false if taken from the shared remainder (hardware domain)
 */
public record ItsMapping(String itsPath, long itsBase, int hostDevid, int domid, int guestDevid, long guestDoorbell,
        int events, long ittAddress, long ittBytes, boolean reserved) {
}
