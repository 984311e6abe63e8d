"""Facts from the Matter 1.6 specification's data model, written by hand for the conformance test.

Every cluster and device type the bridge serves or is about to serve has an entry here, transcribed from the
XML of connectedhomeip's `data_model/` (the machine-readable Matter specification). Each entry names the file it
comes from: `1.6/clusters/OnOff.xml` means `data_model/1.6/clusters/OnOff.xml`. The bridge claims
SpecificationVersion 1.6 (rs-matter 0.4.1), so 1.6 is used wherever its file exists; where the stored 1.6 data
has no file for a cluster, the newest older file (1.5.1, 1.5, 1.4.2, or connectedhomeip master of 2025-05-14,
"master@162df095") is used, and where the revision is known to have moved in 1.6 the entry says how it is known.

Revisions only ever go up, and the stored files are snapshots of 1.6 taken at different times (Groups.xml is
newer than WaterContentMeasurement.xml, for one). So a revision is the HIGHEST of the stored XML and of the
second machine-readable copy of the 1.6 specification we have, matter.js 0.17.9's `@matter/model` (generated
from the specification; it predates the Groupcast revisions but postdates some stored XML). Where that second
source raised a revision, the entry says "matter.js model". The CHIP SDK's own 1.6 cluster definitions
(`controller-clusters-V1.6.0.0.matter` in rs-matter-codegen) lag the specification and are cited only where
nothing else covers a 1.6 change.

NOTHING here is read from the bridge's own code (device-types/src/matter/spec.rs): the point is to catch that
code being wrong. Conformance expressions use the specification's notation (see `conformance.py`).

Adding a cluster: copy its revision, features (bit, code, conformance), attributes, accepted commands (with the
id of their response command, if any), generated response commands and events from the XML, and name the file.
Adding a device type: its revision, its cluster requirements (server side) and element requirements.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Element", "ClusterFacts", "DeviceTypeFacts", "CLUSTERS", "DEVICE_TYPES", "GLOBAL_ATTRIBUTES",
           "cluster_facts", "device_type_facts"]

# Global attributes every cluster instance lists (Matter Core 7.13): GeneratedCommandList, AcceptedCommandList,
# AttributeList, FeatureMap, ClusterRevision. EventList (0xFFFA) was removed from the specification in 1.3; a
# node may still list it.
GLOBAL_ATTRIBUTES = {0xFFF8: "GeneratedCommandList", 0xFFF9: "AcceptedCommandList", 0xFFFB: "AttributeList",
                     0xFFFC: "FeatureMap", 0xFFFD: "ClusterRevision"}
EVENT_LIST = 0xFFFA


@dataclass(frozen=True)
class Element:
    id: int
    name: str
    conf: str
    response: int | None = None  # accepted commands: the id of the response command (None: status response)


@dataclass(frozen=True)
class ClusterFacts:
    id: int
    name: str
    revision: int
    source: str
    features: dict[int, Element]  # bit -> Element(id=bit, name=code, conf)
    attributes: dict[int, Element]
    commands: dict[int, Element]  # client to server
    responses: dict[int, Element]  # server to client (GeneratedCommandList)
    events: dict[int, Element]

    def feature_codes(self, feature_map: int) -> set[str]:
        return {f.name for bit, f in self.features.items() if feature_map & (1 << bit)}

    def feature_bit(self, code: str) -> int:
        for bit, f in self.features.items():
            if f.name == code:
                return bit
        raise KeyError(f"{self.name}: no feature {code!r} in the facts")

    @property
    def defined_feature_mask(self) -> int:
        mask = 0
        for bit in self.features:
            mask |= 1 << bit
        return mask


@dataclass(frozen=True)
class DeviceTypeFacts:
    id: int
    name: str
    revision: int
    source: str
    # server cluster id -> conformance (the device type's cluster requirements)
    clusters: dict[int, str]
    # element requirements: cluster id -> {"features": {code: conf}, "attributes": {id: conf},
    #                                       "commands": {id: conf}, "events": {id: conf}}
    elements: dict[int, dict[str, dict]] = field(default_factory=dict)
    # conditions a node containing this device type must meet on the Root Node ("conditionRequirements")
    root_conditions: dict[str, str] = field(default_factory=dict)


def _lines(block: str):
    for raw in block.strip().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            yield line


def _elements(block: str, with_response: bool = False) -> dict[int, Element]:
    out: dict[int, Element] = {}
    for line in _lines(block):
        response = None
        if with_response and "->" in line:
            line, resp = line.split("->")
            response = int(resp.strip(), 0)
        ident, name, conf = line.split(None, 2)
        out[int(ident, 0)] = Element(int(ident, 0), name, conf.strip(), response)
    return out


def _cluster(cid: int, name: str, revision: int, source: str, *, features: str = "", attributes: str = "",
             commands: str = "", responses: str = "", events: str = "") -> ClusterFacts:
    return ClusterFacts(cid, name, revision, source, _elements(features), _elements(attributes),
                        _elements(commands, with_response=True), _elements(responses), _elements(events))


# ================================================================================================ clusters
# ---------------------------------------------------------------------------------------- utility / root

DESCRIPTOR = _cluster(0x001D, "Descriptor", 3, "1.5/clusters/Descriptor-Cluster.xml (no 1.6 file; rev 3 in the matter.js model and the 1.6 IDL too)",
    features="0 TAGLIST desc",
    attributes="""
        0x0000 DeviceTypeList M
        0x0001 ServerList M
        0x0002 ClientList M
        0x0003 PartsList M
        0x0004 TagList TAGLIST
        0x0005 EndpointUniqueID O
    """)

ACCESS_CONTROL = _cluster(0x001F, "Access Control", 3, "1.6/clusters/ACL-Cluster.xml",
    features="""
        0 EXTS O
        1 MNGD desc
        2 AUX P, desc
    """,
    attributes="""
        0x0000 ACL M
        0x0001 Extension EXTS
        0x0002 SubjectsPerAccessControlEntry M
        0x0003 TargetsPerAccessControlEntry M
        0x0004 AccessControlEntriesPerFabric M
        0x0005 CommissioningARL MNGD
        0x0006 ARL MNGD
        0x0007 AuxiliaryACL P, AUX
    """,
    commands="0x00 ReviewFabricRestrictions MNGD -> 0x01",
    responses="0x01 ReviewFabricRestrictionsResponse MNGD",
    events="""
        0x00 AccessControlEntryChanged M
        0x01 AccessControlExtensionChanged EXTS
        0x02 FabricRestrictionReviewUpdate MNGD
        0x03 AuxiliaryAccessUpdated P, AUX
    """)

BASIC_INFORMATION = _cluster(0x0028, "Basic Information", 6, "1.6/clusters/BasicInformationCluster.xml",
    attributes="""
        0x0000 DataModelRevision M
        0x0001 VendorName M
        0x0002 VendorID M
        0x0003 ProductName M
        0x0004 ProductID M
        0x0005 NodeLabel M
        0x0006 Location M
        0x0007 HardwareVersion M
        0x0008 HardwareVersionString M
        0x0009 SoftwareVersion M
        0x000A SoftwareVersionString M
        0x000B ManufacturingDate O
        0x000C PartNumber O
        0x000D ProductURL O
        0x000E ProductLabel O
        0x000F SerialNumber O
        0x0010 LocalConfigDisabled O
        0x0011 Reachable O
        0x0012 UniqueID M
        0x0013 CapabilityMinima M
        0x0014 ProductAppearance O
        0x0015 SpecificationVersion M
        0x0016 MaxPathsPerInvoke M
        0x0018 ConfigurationVersion M      # rev 6: no longer provisional
    """,
    events="""
        0x00 StartUp M
        0x01 ShutDown O
        0x02 Leave O
        0x03 ReachableChanged Reachable
    """)

GENERAL_COMMISSIONING = _cluster(0x0030, "General Commissioning", 2, "1.6/clusters/GeneralCommissioningCluster.xml",
    features="""
        0 TC O
        1 NR P, O
    """,
    attributes="""
        0x0000 Breadcrumb M
        0x0001 BasicCommissioningInfo M
        0x0002 RegulatoryConfig M
        0x0003 LocationCapability M
        0x0004 SupportsConcurrentConnection M
        0x0005 TCAcceptedVersion TC
        0x0006 TCMinRequiredVersion TC
        0x0007 TCAcknowledgements TC
        0x0008 TCAcknowledgementsRequired TC
        0x0009 TCUpdateDeadline TC
        0x000A RecoveryIdentifier P, NR
        0x000B NetworkRecoveryReason P, NR
        0x000C IsCommissioningWithoutPower P, O
    """,
    commands="""
        0x00 ArmFailSafe M -> 0x01
        0x02 SetRegulatoryConfig M -> 0x03
        0x04 CommissioningComplete M -> 0x05
        0x06 SetTCAcknowledgements TC -> 0x07
    """,
    responses="""
        0x01 ArmFailSafeResponse M
        0x03 SetRegulatoryConfigResponse M
        0x05 CommissioningCompleteResponse M
        0x07 SetTCAcknowledgementsResponse TC
    """)

NETWORK_COMMISSIONING = _cluster(0x0031, "Network Commissioning", 2, "1.6/clusters/NetworkCommissioningCluster.xml",
    features="""
        0 WI O
        1 TH O
        2 ET O
    """,
    attributes="""
        0x0000 MaxNetworks M
        0x0001 Networks M
        0x0002 ScanMaxTimeSeconds WI | TH
        0x0003 ConnectMaxTimeSeconds WI | TH
        0x0004 InterfaceEnabled M
        0x0005 LastNetworkingStatus M
        0x0006 LastNetworkID M
        0x0007 LastConnectErrorValue M
        0x0008 SupportedWiFiBands WI
        0x0009 SupportedThreadFeatures TH
        0x000A ThreadVersion TH
    """,
    commands="""
        0x00 ScanNetworks WI | TH -> 0x01
        0x02 AddOrUpdateWiFiNetwork WI -> 0x05
        0x03 AddOrUpdateThreadNetwork TH -> 0x05
        0x04 RemoveNetwork WI | TH -> 0x05
        0x06 ConnectNetwork WI | TH -> 0x07
        0x08 ReorderNetwork WI | TH -> 0x05
    """,
    responses="""
        0x01 ScanNetworksResponse WI | TH
        0x05 NetworkConfigResponse WI | TH
        0x07 ConnectNetworkResponse WI | TH
    """)

GENERAL_DIAGNOSTICS = _cluster(0x0033, "General Diagnostics", 3, "1.6/clusters/DiagnosticsGeneral.xml",
    features="0 DMTEST desc",
    attributes="""
        0x0000 NetworkInterfaces M
        0x0001 RebootCount M
        0x0002 UpTime M
        0x0003 TotalOperationalHours O
        0x0004 BootReason O
        0x0005 ActiveHardwareFaults O
        0x0006 ActiveRadioFaults O
        0x0007 ActiveNetworkFaults O
        0x0008 TestEventTriggersEnabled M
        0x0009 DoNotUse X
        0x000A DeviceLoadStatus M          # rev 3 (new in 1.6)
    """,
    commands="""
        0x00 TestEventTrigger M
        0x01 TimeSnapshot M -> 0x02
        0x03 PayloadTestRequest DMTEST -> 0x04
    """,
    responses="""
        0x02 TimeSnapshotResponse M
        0x04 PayloadTestResponse DMTEST
    """,
    events="""
        0x00 HardwareFaultChange O
        0x01 RadioFaultChange O
        0x02 NetworkFaultChange O
        0x03 BootReason M
    """)

SOFTWARE_DIAGNOSTICS = _cluster(0x0034, "Software Diagnostics", 1,
    "master@162df095/clusters/DiagnosticsSoftware.xml (rev 1 in the matter.js model and the 1.6 IDL too)",
    features="0 WTRMRK O",
    attributes="""
        0x0000 ThreadMetrics O
        0x0001 CurrentHeapFree O
        0x0002 CurrentHeapUsed O
        0x0003 CurrentHeapHighWatermark WTRMRK
    """,
    commands="0x00 ResetWatermarks WTRMRK",
    events="0x00 SoftwareFault O")

ETHERNET_DIAGNOSTICS = _cluster(0x0037, "Ethernet Network Diagnostics", 1,
    "master@162df095/clusters/DiagnosticsEthernet.xml (rev 1 in the matter.js model and the 1.6 IDL too)",
    features="""
        0 PKTCNT O
        1 ERRCNT O
    """,
    attributes="""
        0x0000 PHYRate O
        0x0001 FullDuplex O
        0x0002 PacketRxCount PKTCNT
        0x0003 PacketTxCount PKTCNT
        0x0004 TxErrCount ERRCNT
        0x0005 CollisionCount ERRCNT
        0x0006 OverrunCount ERRCNT
        0x0007 CarrierDetect O
        0x0008 TimeSinceReset O
    """,
    commands="0x00 ResetCounts PKTCNT | ERRCNT")

TIME_SYNCHRONIZATION = _cluster(0x0038, "Time Synchronization", 2,
    "master@162df095/clusters/TimeSync.xml (rev 2 in the matter.js model and the 1.6 IDL too)",
    features="""
        0 TZ O
        1 NTPC O
        2 NTPS O
        3 TSC O
    """,
    attributes="""
        0x0000 UTCTime M
        0x0001 Granularity M
        0x0002 TimeSource O
        0x0003 TrustedTimeSource TSC
        0x0004 DefaultNTP NTPC
        0x0005 TimeZone TZ
        0x0006 DSTOffset TZ
        0x0007 LocalTime TZ
        0x0008 TimeZoneDatabase TZ
        0x0009 NTPServerAvailable NTPS
        0x000A TimeZoneListMaxSize TZ
        0x000B DSTOffsetListMaxSize TZ
        0x000C SupportsDNSResolve NTPC
    """,
    commands="""
        0x00 SetUTCTime M
        0x01 SetTrustedTimeSource TSC
        0x02 SetTimeZone TZ -> 0x03
        0x04 SetDSTOffset TZ
        0x05 SetDefaultNTP NTPC
    """,
    responses="0x03 SetTimeZoneResponse TZ",
    events="""
        0x00 DSTTableEmpty TZ
        0x01 DSTStatus TZ
        0x02 TimeZoneStatus TZ
        0x03 TimeFailure M
        0x04 MissingTrustedTimeSource TSC
    """)

BRIDGED_DEVICE_BASIC_INFORMATION = _cluster(0x0039, "Bridged Device Basic Information", 6,
    "1.6/clusters/BridgedDeviceBasicInformationCluster.xml",
    features="20 BIS O",
    attributes="""
        0x0000 DataModelRevision X
        0x0001 VendorName desc
        0x0002 VendorID desc
        0x0003 ProductName O
        0x0004 ProductID desc
        0x0005 NodeLabel O
        0x0006 Location X
        0x0007 HardwareVersion O
        0x0008 HardwareVersionString O
        0x0009 SoftwareVersion O
        0x000A SoftwareVersionString O
        0x000B ManufacturingDate O
        0x000C PartNumber O
        0x000D ProductURL O
        0x000E ProductLabel O
        0x000F SerialNumber O
        0x0010 LocalConfigDisabled X
        0x0011 Reachable M
        0x0012 UniqueID M
        0x0013 CapabilityMinima X
        0x0014 ProductAppearance O
        0x0015 SpecificationVersion X
        0x0016 MaxPathsPerInvoke X
        0x0017 DeviceLocation P, M
        0x0018 ConfigurationVersion P, O
    """,
    commands="0x80 KeepActive BIS",
    events="""
        0x00 StartUp O
        0x01 ShutDown O
        0x02 Leave O
        0x03 ReachableChanged M
        0x80 ActiveChanged BIS
    """)

ADMINISTRATOR_COMMISSIONING = _cluster(0x003C, "Administrator Commissioning", 1,
    "master@162df095/clusters/AdminCommissioningCluster.xml (rev 1 in the matter.js model and the 1.6 IDL too)",
    features="0 BC O",
    attributes="""
        0x0000 WindowStatus M
        0x0001 AdminFabricIndex M
        0x0002 AdminVendorId M
    """,
    commands="""
        0x00 OpenCommissioningWindow M
        0x01 OpenBasicCommissioningWindow BC
        0x02 RevokeCommissioning M
    """)

OPERATIONAL_CREDENTIALS = _cluster(0x003E, "Operational Credentials", 2,
    "master@162df095/clusters/OperationalCredentialCluster.xml (rev 2 in the matter.js model and the 1.6 IDL too)",
    attributes="""
        0x0000 NOCs M
        0x0001 Fabrics M
        0x0002 SupportedFabrics M
        0x0003 CommissionedFabrics M
        0x0004 TrustedRootCertificates M
        0x0005 CurrentFabricIndex M
    """,
    commands="""
        0x00 AttestationRequest M -> 0x01
        0x02 CertificateChainRequest M -> 0x03
        0x04 CSRRequest M -> 0x05
        0x06 AddNOC M -> 0x08
        0x07 UpdateNOC M -> 0x08
        0x09 UpdateFabricLabel M -> 0x08
        0x0A RemoveFabric M -> 0x08
        0x0B AddTrustedRootCertificate M
        0x0C SetVIDVerificationStatement P, M
        0x0D SignVIDVerificationRequest P, M -> 0x0E
    """,
    responses="""
        0x01 AttestationResponse M
        0x03 CertificateChainResponse M
        0x05 CSRResponse M
        0x08 NOCResponse M
        0x0E SignVIDVerificationResponse P, M
    """)

GROUP_KEY_MANAGEMENT = _cluster(0x003F, "Group Key Management", 3,
    "master@162df095/clusters/Group-Key-Management-Cluster.xml elements; revision 3 per PEERS.md / 1.6 IDL",
    features="0 CS P",
    attributes="""
        0x0000 GroupKeyMap M
        0x0001 GroupTable M
        0x0002 MaxGroupsPerFabric M
        0x0003 MaxGroupKeysPerFabric M
    """,
    commands="""
        0x00 KeySetWrite M
        0x01 KeySetRead M -> 0x02
        0x03 KeySetRemove M
        0x04 KeySetReadAllIndices M -> 0x05
    """,
    responses="""
        0x02 KeySetReadResponse M
        0x05 KeySetReadAllIndicesResponse M
    """)

POWER_SOURCE = _cluster(0x002F, "Power Source", 3, "1.5/clusters/PowerSourceCluster.xml (rev 3 in the matter.js model and the 1.6 IDL too)",
    features="""
        0 WIRED O
        1 BAT O
        2 RECHG [BAT]
        3 REPLC [BAT]
    """,
    attributes="""
        0x0000 Status M
        0x0001 Order M
        0x0002 Description M
        0x0003 WiredAssessedInputVoltage [WIRED]
        0x0004 WiredAssessedInputFrequency [WIRED]
        0x0005 WiredCurrentType WIRED
        0x0006 WiredAssessedCurrent [WIRED]
        0x0007 WiredNominalVoltage [WIRED]
        0x0008 WiredMaximumCurrent [WIRED]
        0x0009 WiredPresent [WIRED]
        0x000A ActiveWiredFaults [WIRED]
        0x000B BatVoltage [BAT]
        0x000C BatPercentRemaining [BAT]
        0x000D BatTimeRemaining [BAT]
        0x000E BatChargeLevel BAT
        0x000F BatReplacementNeeded BAT
        0x0010 BatReplaceability BAT
        0x0011 BatPresent [BAT]
        0x0012 ActiveBatFaults [BAT]
        0x0013 BatReplacementDescription REPLC
        0x0014 BatCommonDesignation [REPLC]
        0x0015 BatANSIDesignation [REPLC]
        0x0016 BatIECDesignation [REPLC]
        0x0017 BatApprovedChemistry [REPLC]
        0x0018 BatCapacity [REPLC | RECHG]
        0x0019 BatQuantity REPLC
        0x001A BatChargeState RECHG
        0x001B BatTimeToFullCharge [RECHG]
        0x001C BatFunctionalWhileCharging RECHG
        0x001D BatChargingCurrent [RECHG]
        0x001E ActiveBatChargeFaults [RECHG]
        0x001F EndpointList M
    """,
    events="""
        0x00 WiredFaultChange [WIRED]
        0x01 BatFaultChange [BAT]
        0x02 BatChargeFaultChange [RECHG]
    """)

# ---------------------------------------------------------------------------------------- application

IDENTIFY = _cluster(0x0003, "Identify", 6, "1.5.1/clusters/Identify.xml (no 1.6 file; rev 6 in the matter.js model and the 1.6 IDL too)",
    attributes="""
        0x0000 IdentifyTime M
        0x0001 IdentifyType M
    """,
    commands="""
        0x00 Identify M
        0x40 TriggerEffect O
    """)

GROUPS = _cluster(0x0004, "Groups", 5, "1.6/clusters/Groups.xml",
    features="0 GN O",
    attributes="0x0000 NameSupport M",
    commands="""
        0x00 AddGroup M -> 0x00
        0x01 ViewGroup M -> 0x01
        0x02 GetGroupMembership M -> 0x02
        0x03 RemoveGroup M -> 0x03
        0x04 RemoveAllGroups M
        0x05 AddGroupIfIdentifying M
    """,
    responses="""
        0x00 AddGroupResponse M
        0x01 ViewGroupResponse M
        0x02 GetGroupMembershipResponse M
        0x03 RemoveGroupResponse M
    """)

ON_OFF = _cluster(0x0006, "On/Off", 7, "1.6/clusters/OnOff.xml",
    features="""
        0 LT [!OFFONLY]
        1 DF [!OFFONLY]
        2 OFFONLY [!(LT | DF)]
    """,
    attributes="""
        0x0000 OnOff M
        0x4000 GlobalSceneControl LT
        0x4001 OnTime LT
        0x4002 OffWaitTime LT
        0x4003 StartUpOnOff LT
    """,
    commands="""
        0x00 Off M
        0x01 On !OFFONLY
        0x02 Toggle !OFFONLY
        0x40 OffWithEffect LT
        0x41 OnWithRecallGlobalScene LT
        0x42 OnWithTimedOff LT
    """)

LEVEL_CONTROL = _cluster(0x0008, "Level Control", 7, "1.6/clusters/LevelControl.xml",
    features="""
        0 OO O
        1 LT O
        2 FQ P
    """,
    attributes="""
        0x0000 CurrentLevel M
        0x0001 RemainingTime LT
        0x0002 MinLevel M                  # rev 7: mandatory
        0x0003 MaxLevel M                  # rev 7: mandatory
        0x0004 CurrentFrequency FQ
        0x0005 MinFrequency FQ
        0x0006 MaxFrequency FQ
        0x000F Options M
        0x0010 OnOffTransitionTime O
        0x0011 OnLevel M
        0x0012 OnTransitionTime O
        0x0013 OffTransitionTime O
        0x0014 DefaultMoveRate O
        0x4000 StartUpCurrentLevel LT
    """,
    commands="""
        0x00 MoveToLevel M
        0x01 Move M
        0x02 Step M
        0x03 Stop M
        0x04 MoveToLevelWithOnOff M
        0x05 MoveWithOnOff M
        0x06 StepWithOnOff M
        0x07 StopWithOnOff M
        0x08 MoveToClosestFrequency FQ
    """)

BOOLEAN_STATE = _cluster(0x0045, "Boolean State", 3, "1.6/clusters/BooleanState.xml",
    features="0 CHGEVENT O",
    attributes="0x0000 StateValue M",
    events="0x00 StateChange CHGEVENT, O")

SCENES_MANAGEMENT = _cluster(0x0062, "Scenes Management", 1, "1.5.1/clusters/Scenes.xml (no 1.6 file; rev 1 in the matter.js model and the 1.6 IDL too)",
    features="0 SN O",
    attributes="""
        0x0000 DoNotUse X
        0x0001 SceneTableSize M
        0x0002 FabricSceneInfo M
    """,
    commands="""
        0x00 AddScene M -> 0x00
        0x01 ViewScene M -> 0x01
        0x02 RemoveScene M -> 0x02
        0x03 RemoveAllScenes M -> 0x03
        0x04 StoreScene M -> 0x04
        0x05 RecallScene M
        0x06 GetSceneMembership M -> 0x06
        0x40 CopyScene O -> 0x40
    """,
    responses="""
        0x00 AddSceneResponse M
        0x01 ViewSceneResponse M
        0x02 RemoveSceneResponse M
        0x03 RemoveAllScenesResponse M
        0x04 StoreSceneResponse M
        0x06 GetSceneMembershipResponse M
        0x40 CopySceneResponse CopyScene
    """)

BOOLEAN_STATE_CONFIGURATION = _cluster(0x0080, "Boolean State Configuration", 2,
    "1.6/clusters/BooleanStateConfiguration.xml",
    features="""
        0 VIS O
        1 AUD O
        2 SPRS [VIS | AUD]
        3 SENSLVL O
        4 FAULTEV O
    """,
    attributes="""
        0x0000 CurrentSensitivityLevel SENSLVL
        0x0001 SupportedSensitivityLevels SENSLVL
        0x0002 DefaultSensitivityLevel [SENSLVL]
        0x0003 AlarmsActive VIS | AUD
        0x0004 AlarmsSuppressed SPRS
        0x0005 AlarmsEnabled [VIS | AUD]
        0x0006 AlarmsSupported VIS | AUD
        0x0007 SensorFault O
    """,
    commands="""
        0x00 SuppressAlarm SPRS
        0x01 EnableDisableAlarm VIS | AUD
    """,
    events="""
        0x00 AlarmsStateChanged VIS | AUD
        0x01 SensorFault FAULTEV, O
    """)

SMOKE_CO_ALARM = _cluster(0x005C, "Smoke CO Alarm", 2, "1.6/clusters/SmokeCOAlarm.xml",
    features="""
        0 SMOKE O
        1 CO O
    """,
    attributes="""
        0x0000 ExpressedState M
        0x0001 SmokeState SMOKE
        0x0002 COState CO
        0x0003 BatteryAlert M
        0x0004 DeviceMuted O
        0x0005 TestInProgress M
        0x0006 HardwareFaultAlert M
        0x0007 EndOfServiceAlert M
        0x0008 InterconnectSmokeAlarm O
        0x0009 InterconnectCOAlarm O
        0x000A ContaminationState [SMOKE]
        0x000B SmokeSensitivityLevel [SMOKE]
        0x000C ExpiryDate O
        0x000D Unmounted O
    """,
    commands="0x00 SelfTestRequest O",
    events="""
        0x00 SmokeAlarm SMOKE
        0x01 COAlarm CO
        0x02 LowBattery M
        0x03 HardwareFault M
        0x04 EndOfService M
        0x05 SelfTestComplete M
        0x06 AlarmMuted O
        0x07 MuteEnded O
        0x08 InterconnectSmokeAlarm [SMOKE]
        0x09 InterconnectCOAlarm [CO]
        0x0A AllClear M
    """)

AIR_QUALITY = _cluster(0x005B, "Air Quality", 1, "1.5.1/clusters/AirQuality.xml (no 1.6 file; rev 1 in the matter.js model and the 1.6 IDL too)",
    features="""
        0 FAIR O
        1 MOD O
        2 VPOOR O
        3 XPOOR O
    """,
    attributes="0x0000 AirQuality M")

ELECTRICAL_POWER_MEASUREMENT = _cluster(0x0090, "Electrical Power Measurement", 3,
    "master@162df095/clusters/ElectricalPowerMeasurement.xml (rev 3 in the matter.js model and the 1.6 IDL too)",
    features="""
        0 DIRC O
        1 ALTC O
        2 POLY [ALTC]
        3 HARM [ALTC]
        4 PWRQ [ALTC]
    """,
    attributes="""
        0x0000 PowerMode M
        0x0001 NumberOfMeasurementTypes M
        0x0002 Accuracy M
        0x0003 Ranges O
        0x0004 Voltage O
        0x0005 ActiveCurrent O
        0x0006 ReactiveCurrent [ALTC]
        0x0007 ApparentCurrent [ALTC]
        0x0008 ActivePower M
        0x0009 ReactivePower [ALTC]
        0x000A ApparentPower [ALTC]
        0x000B RMSVoltage [ALTC]
        0x000C RMSCurrent [ALTC]
        0x000D RMSPower [ALTC]
        0x000E Frequency [ALTC]
        0x000F HarmonicCurrents HARM
        0x0010 HarmonicPhases PWRQ
        0x0011 PowerFactor [ALTC]
        0x0012 NeutralCurrent [POLY]
    """,
    events="0x00 MeasurementPeriodRanges Ranges")

ELECTRICAL_ENERGY_MEASUREMENT = _cluster(0x0091, "Electrical Energy Measurement", 2,
    "master@162df095/clusters/ElectricalEnergyMeasurement.xml (rev 2 in the matter.js model and the 1.6 IDL too)",
    features="""
        0 IMPE O
        1 EXPE O
        2 CUME O
        3 PERE O
        4 APPE P, O
        5 REAE P, O
    """,
    attributes="""
        0x0000 Accuracy M
        0x0001 CumulativeEnergyImported IMPE & CUME
        0x0002 CumulativeEnergyExported EXPE & CUME
        0x0003 PeriodicEnergyImported IMPE & PERE
        0x0004 PeriodicEnergyExported EXPE & PERE
        0x0005 CumulativeEnergyReset [CUME]
    """,
    events="""
        0x00 CumulativeEnergyMeasured CUME
        0x01 PeriodicEnergyMeasured PERE
    """)

POWER_TOPOLOGY = _cluster(0x009C, "Power Topology", 1, "1.6/clusters/PowerTopology.xml",
    features="""
        0 NODE O
        1 TREE O
        2 SET O
        3 DYPF [SET]
    """,
    attributes="""
        0x0000 AvailableEndpoints SET
        0x0001 ActiveEndpoints DYPF
    """)

SWITCH = _cluster(0x003B, "Switch", 2, "1.6/clusters/Switch.xml",
    features="""
        0 LS O
        1 MS O
        2 MSR [MS & !AS]
        3 MSL [MS & (MSR | AS)]
        4 MSM AS, [MS & MSR]
        5 AS [MS]
    """,
    attributes="""
        0x0000 NumberOfPositions M
        0x0001 CurrentPosition M
        0x0002 MultiPressMax MSM
    """,
    events="""
        0x00 SwitchLatched LS
        0x01 InitialPress MS
        0x02 LongPress MSL
        0x03 ShortRelease MSR
        0x04 LongRelease MSL
        0x05 MultiPressOngoing MSM & !AS
        0x06 MultiPressComplete MSM
    """)

DOOR_LOCK = _cluster(0x0101, "Door Lock", 10,
    "1.5.1/clusters/DoorLock.xml (rev 9; no 1.6 file). 1.6 is rev 10 per the matter.js model and the 1.6 IDL; "
    "neither defines the Zigbee-era PIN/RFID/user-status/user-type commands 0x05-0x0A, 0x14-0x19 and their "
    "responses any more: they are kept here as D (deprecated) so that a node may omit them",
    features="""
        0 PIN O
        1 RID O
        2 FGP P, O
        4 WDSCH O
        5 DPS O
        6 FACE P, O
        7 COTA O
        8 USR ALIRO, [PIN | RID | FGP | FACE]
        10 YDSCH O
        11 HDSCH O
        12 UBOLT O
        13 ALIRO O
        14 ALBU [ALIRO]
    """,
    attributes="""
        0x0000 LockState M
        0x0001 LockType M
        0x0002 ActuatorEnabled M
        0x0003 DoorState DPS
        0x0004 DoorOpenEvents [DPS]
        0x0005 DoorClosedEvents [DPS]
        0x0006 OpenPeriod [DPS]
        0x0011 NumberOfTotalUsersSupported USR
        0x0012 NumberOfPINUsersSupported PIN
        0x0013 NumberOfRFIDUsersSupported RID
        0x0014 NumberOfWeekDaySchedulesSupportedPerUser WDSCH
        0x0015 NumberOfYearDaySchedulesSupportedPerUser YDSCH
        0x0016 NumberOfHolidaySchedulesSupported HDSCH
        0x0017 MaxPINCodeLength PIN
        0x0018 MinPINCodeLength PIN
        0x0019 MaxRFIDCodeLength RID
        0x001A MinRFIDCodeLength RID
        0x001B CredentialRulesSupport USR
        0x001C NumberOfCredentialsSupportedPerUser USR
        0x0021 Language O
        0x0022 LEDSettings O
        0x0023 AutoRelockTime O
        0x0024 SoundVolume O
        0x0025 OperatingMode M
        0x0026 SupportedOperatingModes M
        0x0027 DefaultConfigurationRegister O
        0x0028 EnableLocalProgramming O
        0x0029 EnableOneTouchLocking O
        0x002A EnableInsideStatusLED O
        0x002B EnablePrivacyModeButton O
        0x002C LocalProgrammingFeatures O
        0x0030 WrongCodeEntryLimit PIN | RID
        0x0031 UserCodeTemporaryDisableTime PIN | RID
        0x0032 SendPINOverTheAir [!USR & PIN]
        0x0033 RequirePINforRemoteOperation COTA & PIN
        0x0034 SecurityLevel D
        0x0035 ExpiringUserTimeout [USR]
        0x0080 AliroReaderVerificationKey ALIRO
        0x0081 AliroReaderGroupIdentifier ALIRO
        0x0082 AliroReaderGroupSubIdentifier ALIRO
        0x0083 AliroExpeditedTransactionSupportedProtocolVersions ALIRO
        0x0084 AliroGroupResolvingKey ALBU
        0x0085 AliroSupportedBLEUWBProtocolVersions ALBU
        0x0086 AliroBLEAdvertisingVersion ALBU
        0x0087 NumberOfAliroCredentialIssuerKeysSupported ALIRO
        0x0088 NumberOfAliroEndpointKeysSupported ALIRO
    """,
    commands="""
        0x00 LockDoor M
        0x01 UnlockDoor M
        0x02 Toggle X
        0x03 UnlockWithTimeout O
        0x05 SetPINCode D
        0x06 GetPINCode D -> 0x06
        0x07 ClearPINCode D
        0x08 ClearAllPINCodes D
        0x09 SetUserStatus D
        0x0A GetUserStatus D -> 0x0A
        0x0B SetWeekDaySchedule WDSCH
        0x0C GetWeekDaySchedule WDSCH -> 0x0C
        0x0D ClearWeekDaySchedule WDSCH
        0x0E SetYearDaySchedule YDSCH
        0x0F GetYearDaySchedule YDSCH -> 0x0F
        0x10 ClearYearDaySchedule YDSCH
        0x11 SetHolidaySchedule HDSCH
        0x12 GetHolidaySchedule HDSCH -> 0x12
        0x13 ClearHolidaySchedule HDSCH
        0x14 SetUserType D
        0x15 GetUserType D -> 0x15
        0x16 SetRFIDCode D
        0x17 GetRFIDCode D -> 0x17
        0x18 ClearRFIDCode D
        0x19 ClearAllRFIDCodes D
        0x1A SetUser USR
        0x1B GetUser USR -> 0x1C
        0x1D ClearUser USR
        0x22 SetCredential USR -> 0x23
        0x24 GetCredentialStatus USR -> 0x25
        0x26 ClearCredential USR
        0x27 UnboltDoor UBOLT
        0x28 SetAliroReaderConfig ALIRO
        0x29 ClearAliroReaderConfig ALIRO
    """,
    responses="""
        0x06 GetPINCodeResponse D
        0x0A GetUserStatusResponse D
        0x0C GetWeekDayScheduleResponse WDSCH
        0x0F GetYearDayScheduleResponse YDSCH
        0x12 GetHolidayScheduleResponse HDSCH
        0x15 GetUserTypeResponse D
        0x17 GetRFIDCodeResponse D
        0x1C GetUserResponse USR
        0x23 SetCredentialResponse USR
        0x25 GetCredentialStatusResponse USR
    """,
    events="""
        0x00 DoorLockAlarm M
        0x01 DoorStateChange DPS
        0x02 LockOperation M
        0x03 LockOperationError M
        0x04 LockUserChange USR
    """)

WINDOW_COVERING = _cluster(0x0102, "Window Covering", 8, "1.6/clusters/WindowCovering.xml",
    features="""
        0 LF O
        1 TL O
        2 PA_LF [LF]
        4 PA_TL [TL]
    """,
    attributes="""
        0x0000 Type M
        0x0005 NumberOfActuationsLift [LF]
        0x0006 NumberOfActuationsTilt [TL]
        0x0007 ConfigStatus M
        0x0008 CurrentPositionLiftPercentage [LF & PA_LF]
        0x0009 CurrentPositionTiltPercentage [TL & PA_TL]
        0x000A OperationalStatus M
        0x000B TargetPositionLiftPercent100ths LF & PA_LF
        0x000C TargetPositionTiltPercent100ths TL & PA_TL
        0x000D EndProductType M
        0x000E CurrentPositionLiftPercent100ths LF & PA_LF
        0x000F CurrentPositionTiltPercent100ths TL & PA_TL
        0x0017 Mode M
        0x001A SafetyStatus O
    """,
    # rev 7 removed the ABS feature with GoToLiftValue (0x04) and GoToTiltValue (0x07).
    commands="""
        0x00 UpOrOpen M
        0x01 DownOrClose M
        0x02 StopMotion M
        0x05 GoToLiftPercentage LF & PA_LF, [LF]
        0x08 GoToTiltPercentage TL & PA_TL, [TL]
    """)

THERMOSTAT = _cluster(0x0201, "Thermostat", 11,
    "1.6/clusters/Thermostat.xml (revision and features); attributes and commands from "
    "master@162df095/clusters/Thermostat.xml minus what revs 10-11 removed (Zigbee elements: the SCH feature "
    "and its weekly-schedule commands, AlarmMask)",
    features="""
        0 HEAT AUTO, O
        1 COOL AUTO, O
        2 OCC O
        4 SB D
        5 AUTO O
        6 LTNE O
        7 MSCH O
        8 PRES O
        9 TEVT P, O
        10 TSUGGEST P, [PRES]
    """,
    attributes="""
        0x0000 LocalTemperature M
        0x0001 OutdoorTemperature O
        0x0002 Occupancy OCC
        0x0003 AbsMinHeatSetpointLimit [HEAT]
        0x0004 AbsMaxHeatSetpointLimit [HEAT]
        0x0005 AbsMinCoolSetpointLimit [COOL]
        0x0006 AbsMaxCoolSetpointLimit [COOL]
        0x0007 PICoolingDemand [COOL]
        0x0008 PIHeatingDemand [HEAT]
        0x0009 HVACSystemTypeConfiguration D
        0x0010 LocalTemperatureCalibration [!LTNE]
        0x0011 OccupiedCoolingSetpoint COOL
        0x0012 OccupiedHeatingSetpoint HEAT
        0x0013 UnoccupiedCoolingSetpoint COOL & OCC
        0x0014 UnoccupiedHeatingSetpoint HEAT & OCC
        0x0015 MinHeatSetpointLimit [HEAT]
        0x0016 MaxHeatSetpointLimit [HEAT]
        0x0017 MinCoolSetpointLimit [COOL]
        0x0018 MaxCoolSetpointLimit [COOL]
        0x0019 MinSetpointDeadBand AUTO
        0x001A RemoteSensing O
        0x001B ControlSequenceOfOperation M
        0x001C SystemMode M
        0x001E ThermostatRunningMode TEVT & AUTO, [AUTO]
        0x0023 TemperatureSetpointHold O
        0x0024 TemperatureSetpointHoldDuration O
        0x0025 ThermostatProgrammingOperationMode D
        0x0029 ThermostatRunningState O
        0x0030 SetpointChangeSource O
        0x0031 SetpointChangeAmount O
        0x0032 SetpointChangeSourceTimestamp O
        0x0034 OccupiedSetback D
        0x0035 OccupiedSetbackMin D
        0x0036 OccupiedSetbackMax D
        0x0037 UnoccupiedSetback D
        0x0038 UnoccupiedSetbackMin D
        0x0039 UnoccupiedSetbackMax D
        0x003A EmergencyHeatDelta O
        0x0040 ACType O
        0x0041 ACCapacity O
        0x0042 ACRefrigerantType O
        0x0043 ACCompressorType O
        0x0044 ACErrorCode O
        0x0045 ACLouverPosition O
        0x0046 ACCoilTemperature O
        0x0047 ACCapacityFormat O
        0x0048 PresetTypes PRES
        0x0049 ScheduleTypes MSCH
        0x0050 Presets PRES
        0x0051 Schedules MSCH
        0x0052 SetpointHoldExpiryTimestamp O
        0x0053 CurrentSuggestedPreset P, TSUGGEST
        0x0054 UpcomingSuggestedPreset P, TSUGGEST
        0x0055 SuggestedPresetNotFollowingReason P, TSUGGEST
    """,
    commands="""
        0x00 SetpointRaiseLower M
        0x05 SetActiveScheduleRequest MSCH
        0x06 SetActivePresetRequest PRES
        0x07 SetCurrentSuggestedPreset P, TSUGGEST
        0x08 ClearCurrentSuggestedPreset P, TSUGGEST
        0x09 SetUpcomingSuggestedPreset P, TSUGGEST
        0x0A ClearUpcomingSuggestedPreset P, TSUGGEST
    """,
    events="""
        0x00 SystemModeChange P, TEVT
        0x01 LocalTemperatureChange P, TEVT & !LTNE
        0x02 OccupancyChange P, TEVT & OCC
        0x03 SetpointChange P, TEVT
        0x04 RunningStateChange P, TEVT
        0x05 RunningModeChange P, TEVT & AUTO
        0x06 ActiveScheduleChange P, TEVT & MSCH
        0x07 ActivePresetChange P, TEVT & PRES
    """)

FAN_CONTROL = _cluster(0x0202, "Fan Control", 6, "1.6/clusters/FanControl.xml",
    features="""
        0 SPD O
        1 AUT O
        2 RCK O
        3 WND O
        4 STEP O
        5 DIR O
    """,
    attributes="""
        0x0000 FanMode M
        0x0001 FanModeSequence M
        0x0002 PercentSetting M
        0x0003 PercentCurrent M
        0x0004 SpeedMax SPD
        0x0005 SpeedSetting SPD
        0x0006 SpeedCurrent SPD
        0x0007 RockSupport RCK
        0x0008 RockSetting RCK
        0x0009 WindSupport WND
        0x000A WindSetting WND
        0x000B AirflowDirection DIR
    """,
    commands="0x00 Step STEP")

COLOR_CONTROL = _cluster(0x0300, "Color Control", 9,
    "1.5.1/clusters/ColorControl.xml (rev 8; no 1.6 file). 1.6 is rev 9 per the matter.js model and the 1.6 "
    "IDL; elements as in 1.5.1",
    features="""
        0 HS EHUE, O
        1 EHUE CL, O
        2 CL O
        3 XY O
        4 CT O
    """,
    attributes="""
        0x0000 CurrentHue HS
        0x0001 CurrentSaturation HS
        0x0002 RemainingTime O
        0x0003 CurrentX XY
        0x0004 CurrentY XY
        0x0005 DriftCompensation O
        0x0006 CompensationText O
        0x0007 ColorTemperatureMireds CT
        0x0008 ColorMode M
        0x000F Options M
        0x0010 NumberOfPrimaries M
        # "NumberOfPrimaries > N, O": the value comparison is not evaluated; an unknown name is false, so optional.
        0x0011 Primary1X NumberOfPrimariesAbove0, O
        0x0012 Primary1Y NumberOfPrimariesAbove0, O
        0x0013 Primary1Intensity NumberOfPrimariesAbove0, O
        0x0015 Primary2X NumberOfPrimariesAbove1, O
        0x0016 Primary2Y NumberOfPrimariesAbove1, O
        0x0017 Primary2Intensity NumberOfPrimariesAbove1, O
        0x0019 Primary3X NumberOfPrimariesAbove2, O
        0x001A Primary3Y NumberOfPrimariesAbove2, O
        0x001B Primary3Intensity NumberOfPrimariesAbove2, O
        0x0020 Primary4X NumberOfPrimariesAbove3, O
        0x0021 Primary4Y NumberOfPrimariesAbove3, O
        0x0022 Primary4Intensity NumberOfPrimariesAbove3, O
        0x0024 Primary5X NumberOfPrimariesAbove4, O
        0x0025 Primary5Y NumberOfPrimariesAbove4, O
        0x0026 Primary5Intensity NumberOfPrimariesAbove4, O
        0x0028 Primary6X NumberOfPrimariesAbove5, O
        0x0029 Primary6Y NumberOfPrimariesAbove5, O
        0x002A Primary6Intensity NumberOfPrimariesAbove5, O
        0x0030 WhitePointX O
        0x0031 WhitePointY O
        0x0032 ColorPointRX O
        0x0033 ColorPointRY O
        0x0034 ColorPointRIntensity O
        0x0036 ColorPointGX O
        0x0037 ColorPointGY O
        0x0038 ColorPointGIntensity O
        0x003A ColorPointBX O
        0x003B ColorPointBY O
        0x003C ColorPointBIntensity O
        0x4000 EnhancedCurrentHue EHUE
        0x4001 EnhancedColorMode M
        0x4002 ColorLoopActive CL
        0x4003 ColorLoopDirection CL
        0x4004 ColorLoopTime CL
        0x4005 ColorLoopStartEnhancedHue CL
        0x4006 ColorLoopStoredEnhancedHue CL
        0x400A ColorCapabilities M
        0x400B ColorTempPhysicalMinMireds CT
        0x400C ColorTempPhysicalMaxMireds CT
        0x400D CoupleColorTempToLevelMinMireds CT
        0x4010 StartUpColorTemperatureMireds CT
    """,
    commands="""
        0x00 MoveToHue HS
        0x01 MoveHue HS
        0x02 StepHue HS
        0x03 MoveToSaturation HS
        0x04 MoveSaturation HS
        0x05 StepSaturation HS
        0x06 MoveToHueAndSaturation HS
        0x07 MoveToColor XY
        0x08 MoveColor XY
        0x09 StepColor XY
        0x0A MoveToColorTemperature CT
        0x40 EnhancedMoveToHue EHUE
        0x41 EnhancedMoveHue EHUE
        0x42 EnhancedStepHue EHUE
        0x43 EnhancedMoveToHueAndSaturation EHUE
        0x44 ColorLoopSet CL
        0x47 StopMoveStep HS | XY | CT
        0x4B MoveColorTemperature CT
        0x4C StepColorTemperature CT
    """)

ILLUMINANCE_MEASUREMENT = _cluster(0x0400, "Illuminance Measurement", 5,
    "1.5.1/clusters/IlluminanceMeasurement.xml (rev 3; no 1.6 file); rev 5 per the matter.js model (1.6: P quality "
    "removed, F quality added)",
    attributes="""
        0x0000 MeasuredValue M
        0x0001 MinMeasuredValue M
        0x0002 MaxMeasuredValue M
        0x0003 Tolerance O
        0x0004 LightSensorType O
    """)

TEMPERATURE_MEASUREMENT = _cluster(0x0402, "Temperature Measurement", 6, "1.6/clusters/TemperatureMeasurement.xml",
    attributes="""
        0x0000 MeasuredValue M
        0x0001 MinMeasuredValue M
        0x0002 MaxMeasuredValue M
        0x0003 Tolerance O
    """)

PRESSURE_MEASUREMENT = _cluster(0x0403, "Pressure Measurement", 5, "1.6/clusters/PressureMeasurement.xml",
    features="0 EXT O",
    attributes="""
        0x0000 MeasuredValue M
        0x0001 MinMeasuredValue M
        0x0002 MaxMeasuredValue M
        0x0003 Tolerance O
        0x0010 ScaledValue EXT
        0x0011 MinScaledValue EXT
        0x0012 MaxScaledValue EXT
        0x0013 ScaledTolerance [EXT]
        0x0014 Scale EXT
    """)

FLOW_MEASUREMENT = _cluster(0x0404, "Flow Measurement", 5,
    "1.5.1/clusters/FlowMeasurement.xml (rev 3; no 1.6 file); rev 5 per the matter.js model (1.6: P quality "
    "removed, F quality added, as for Pressure)",
    attributes="""
        0x0000 MeasuredValue M
        0x0001 MinMeasuredValue M
        0x0002 MaxMeasuredValue M
        0x0003 Tolerance O
    """)

RELATIVE_HUMIDITY_MEASUREMENT = _cluster(0x0405, "Relative Humidity Measurement", 5,
    "1.6/clusters/WaterContentMeasurement.xml (the Relative Humidity entry, rev 4: an older snapshot); rev 5 per "
    "the matter.js model (the 1.6 F-quality batch that moved Temperature to 6 and Pressure to 5)",
    attributes="""
        0x0000 MeasuredValue M
        0x0001 MinMeasuredValue M
        0x0002 MaxMeasuredValue M
        0x0003 Tolerance O
    """)

OCCUPANCY_SENSING = _cluster(0x0406, "Occupancy Sensing", 7, "1.6/clusters/OccupancySensing.xml",
    features="""
        0 OTHER O
        1 PIR O
        2 US O
        3 PHY O
        4 AIR O
        5 RAD O
        6 RFS O
        7 VIS O
        9 OCCEVENT O
    """,
    attributes="""
        0x0000 Occupancy M
        0x0001 OccupancySensorType M, D
        0x0002 OccupancySensorTypeBitmap M, D
        0x0003 HoldTime O
        0x0004 HoldTimeLimits HoldTime
        0x0010 PIROccupiedToUnoccupiedDelay [HoldTime & (PIR | (!PIR & !US & !PHY))], D
        0x0011 PIRUnoccupiedToOccupiedDelay HoldTime & (PIR | (!PIR & !US & !PHY)) & PIRUnoccupiedToOccupiedThreshold, [HoldTime & (PIR | (!PIR & !US & !PHY))], D
        0x0012 PIRUnoccupiedToOccupiedThreshold HoldTime & (PIR | (!PIR & !US & !PHY)) & PIRUnoccupiedToOccupiedDelay, [HoldTime & (PIR | (!PIR & !US & !PHY))], D
        0x0020 UltrasonicOccupiedToUnoccupiedDelay [HoldTime & US], D
        0x0021 UltrasonicUnoccupiedToOccupiedDelay HoldTime & US & UltrasonicUnoccupiedToOccupiedThreshold, [HoldTime & US], D
        0x0022 UltrasonicUnoccupiedToOccupiedThreshold HoldTime & US & UltrasonicUnoccupiedToOccupiedDelay, [HoldTime & US], D
        0x0030 PhysicalContactOccupiedToUnoccupiedDelay [HoldTime & PHY], D
        0x0031 PhysicalContactUnoccupiedToOccupiedDelay HoldTime & PHY & PhysicalContactUnoccupiedToOccupiedThreshold, [HoldTime & PHY], D
        0x0032 PhysicalContactUnoccupiedToOccupiedThreshold HoldTime & PHY & PhysicalContactUnoccupiedToOccupiedDelay, [HoldTime & PHY], D
    """,
    events="0x00 OccupancyChanged OCCEVENT, O")


def _concentration(cid: int, name: str) -> ClusterFacts:
    """The Concentration Measurement clusters share one definition (one XML, one revision)."""
    return _cluster(cid, name, 5, "1.6/clusters/ConcentrationMeasurement.xml",
        features="""
            0 MEA O
            1 LEV O
            2 MED [LEV]
            3 CRI [LEV]
            4 PEA [MEA]
            5 AVG [MEA]
        """,
        attributes="""
            0x0000 MeasuredValue MEA
            0x0001 MinMeasuredValue MEA
            0x0002 MaxMeasuredValue MEA
            0x0003 PeakMeasuredValue PEA
            0x0004 PeakMeasuredValueWindow PEA
            0x0005 AverageMeasuredValue AVG
            0x0006 AverageMeasuredValueWindow AVG
            0x0007 Uncertainty [MEA]
            0x0008 MeasurementUnit MEA
            0x0009 MeasurementMedium M
            0x000A LevelValue LEV
        """)


CONCENTRATION = [
    _concentration(0x040C, "Carbon Monoxide Concentration Measurement"),
    _concentration(0x040D, "Carbon Dioxide Concentration Measurement"),
    _concentration(0x0413, "Nitrogen Dioxide Concentration Measurement"),
    _concentration(0x0415, "Ozone Concentration Measurement"),
    _concentration(0x042A, "PM2.5 Concentration Measurement"),
    _concentration(0x042B, "Formaldehyde Concentration Measurement"),
    _concentration(0x042C, "PM1 Concentration Measurement"),
    _concentration(0x042D, "PM10 Concentration Measurement"),
    _concentration(0x042E, "Total Volatile Organic Compounds Concentration Measurement"),
    _concentration(0x042F, "Radon Concentration Measurement"),
]

CLUSTERS: dict[int, ClusterFacts] = {c.id: c for c in [
    DESCRIPTOR, ACCESS_CONTROL, BASIC_INFORMATION, GENERAL_COMMISSIONING, NETWORK_COMMISSIONING,
    GENERAL_DIAGNOSTICS, SOFTWARE_DIAGNOSTICS, ETHERNET_DIAGNOSTICS, TIME_SYNCHRONIZATION,
    BRIDGED_DEVICE_BASIC_INFORMATION, ADMINISTRATOR_COMMISSIONING, OPERATIONAL_CREDENTIALS, GROUP_KEY_MANAGEMENT,
    POWER_SOURCE, IDENTIFY, GROUPS, ON_OFF, LEVEL_CONTROL, BOOLEAN_STATE, SCENES_MANAGEMENT,
    BOOLEAN_STATE_CONFIGURATION, SMOKE_CO_ALARM, AIR_QUALITY, ELECTRICAL_POWER_MEASUREMENT,
    ELECTRICAL_ENERGY_MEASUREMENT, POWER_TOPOLOGY, SWITCH, DOOR_LOCK, WINDOW_COVERING, THERMOSTAT, FAN_CONTROL,
    COLOR_CONTROL, ILLUMINANCE_MEASUREMENT, TEMPERATURE_MEASUREMENT, PRESSURE_MEASUREMENT, FLOW_MEASUREMENT,
    RELATIVE_HUMIDITY_MEASUREMENT, OCCUPANCY_SENSING, *CONCENTRATION]}


# ================================================================================================ device types

def _dt(did: int, name: str, revision: int, source: str, clusters: str, elements: dict | None = None,
        root_conditions: dict | None = None) -> DeviceTypeFacts:
    reqs = {}
    for line in _lines(clusters):
        ident, conf = line.split(None, 1)
        reqs[int(ident, 0)] = conf.strip()
    return DeviceTypeFacts(did, name, revision, source, reqs, elements or {}, root_conditions or {})


# The lighting device types share their cluster requirements: Identify (with TriggerEffect), Groups, On/Off with
# Lighting, Level Control with OnOff + Lighting, Scenes Management (with CopyScene).
_LIGHT_CLUSTERS = """
    0x0003 M
    0x0004 M
    0x0006 M
    0x0062 M
"""
_LIGHT_ELEMENTS = {
    0x0003: {"commands": {0x40: "M"}},
    0x0006: {"features": {"LT": "M"}},
    0x0008: {"features": {"OO": "M", "LT": "M"}},
    0x0062: {"commands": {0x40: "M"}},
}
_COLOR_CT_ELEMENTS = {**_LIGHT_ELEMENTS, 0x0300: {"features": {"CT": "M"}, "attributes": {0x0002: "M"}}}
_COLOR_EXT_ELEMENTS = {**_LIGHT_ELEMENTS, 0x0300: {"features": {"XY": "M", "CT": "M"}, "attributes": {0x0002: "M"}}}
# Revision 4+ of the dimmable/plug types: "Added Groupcast condition requirement" (provisional in 1.6).
_GROUPCAST = {"GroupcastListenerCond": "P, M"}
_BOOLEAN_EVENT_ELEMENTS = {0x0045: {"events": {0x00: "M"}}}

# Semantic tag namespaces of the Matter 1.6 Standard Namespaces document (connectedhomeip data_model
# 1.6/namespaces/Namespace-Common-Number.xml and Namespace-Common-Position.xml; the matter.js 0.17 model agrees):
# namespace id -> (name, {tag: tag name}). A child endpoint's TagList entries must come from a defined namespace.
SEMANTIC_TAG_NAMESPACES: dict[int, tuple[str, dict[int, str]]] = {
    0x07: ("Common Number", {n: str(n) for n in range(0, 31)}),
    0x08: ("Common Position", {0: "Left", 1: "Right", 2: "Top", 3: "Bottom", 4: "Middle", 5: "Row",
                               6: "Column"}),
}
# Core specification composition rules for bridges (9.12 Bridge for non-Matter devices, 9.13 Bridged Device Basic
# Information, 9.5 Descriptor TagList): a bridged device is an endpoint with the Bridged Node device type and Bridged
# Device Basic Information; its functions on child endpoints (its PartsList) carry neither; several children of one
# parent with the same device type each serve a non-empty TagList (TagList feature) and no two are equal; the
# aggregator's PartsList names every endpoint of the bridged devices, children included (the full-family pattern).
BRIDGED_INFO_CLUSTER = 0x0039
DESCRIPTOR_TAG_LIST_FEATURE = 0x1
DESCRIPTOR_TAG_LIST = 0x0004


DEVICE_TYPES: dict[int, DeviceTypeFacts] = {d.id: d for d in [
    _dt(0x0016, "Root Node", 5, "1.6/device_types/RootNodeDeviceType.xml", """
        0x001F M
        0x0028 M
        0x002B LanguageLocale
        0x002C TimeLocale
        0x002D UnitLocale
        0x002E O, D
        0x0030 M
        0x0031 !CustomNetworkConfig
        0x0032 O
        0x0033 M
        0x0034 O
        0x0035 [Thread]
        0x0036 [Wi-Fi]
        0x0037 [Ethernet]
        0x0038 TimeSyncCond, TimeSyncWithClientCond, TimeSyncWithNTPCCond, TimeSyncWithTZCond, TLSClientCond, TLSCertificatesCond, O
        0x003C M
        0x003E M
        0x003F M
        0x0046 SIT | LIT
        0x0065 GroupcastListenerCond, GroupcastSenderCond, O
        0x0801 TLSCertificatesCond, O
        0x0802 TLSClientCond, O
    """, elements={0x001F: {"features": {"MNGD": "[ManagedAclAllowed]", "AUX": "GroupcastListenerCond"},
                            "attributes": {0x0001: "ACLExtensionCond"}}}),
    _dt(0x000E, "Aggregator", 2, "1.5.1/device_types/Aggregator.xml", """
        0x0003 O
        0x0025 O
        0x0751 FabricSynchronization
    """),
    _dt(0x0013, "Bridged Node", 3, "1.6/device_types/BridgedNode.xml", """
        0x002E BridgedPowerSourceInfo, D
        0x002F BridgedPowerSourceInfo
        0x0039 M
        0x003C FabricSynchronizedNode
        0x0750 FabricSynchronizedNode, O
    """),
    _dt(0x0011, "Power Source", 1, "1.5.1/device_types/PowerSource.xml", "0x002F M"),
    _dt(0x0100, "On/Off Light", 3, "1.6/device_types/OnOffLight.xml", _LIGHT_CLUSTERS + "0x0008 O",
        _LIGHT_ELEMENTS),
    _dt(0x0101, "Dimmable Light", 4, "1.6/device_types/DimmableLight.xml", _LIGHT_CLUSTERS + "0x0008 M",
        _LIGHT_ELEMENTS, _GROUPCAST),
    _dt(0x010C, "Color Temperature Light", 4, "1.6/device_types/ColorTemperatureLight.xml",
        _LIGHT_CLUSTERS + "0x0008 M\n0x0300 M", _COLOR_CT_ELEMENTS),
    _dt(0x010D, "Extended Color Light", 4, "1.5/device_types/ExtendedColorLight.xml (no 1.6 file)",
        _LIGHT_CLUSTERS + "0x0008 M\n0x0300 M", _COLOR_EXT_ELEMENTS),
    _dt(0x010A, "On/Off Plug-in Unit", 5, "1.6/device_types/OnOffPlug-inUnit.xml", _LIGHT_CLUSTERS + "0x0008 O",
        _LIGHT_ELEMENTS, _GROUPCAST),
    _dt(0x010B, "Dimmable Plug-In Unit", 6, "1.6/device_types/DimmablePlug-InUnit.xml",
        _LIGHT_CLUSTERS + "0x0008 M", _LIGHT_ELEMENTS, _GROUPCAST),
    _dt(0x0015, "Contact Sensor", 2, "1.5.1/device_types/ContactSensor.xml (no 1.6 file)", """
        0x0003 M
        0x0045 M
        0x0080 O
    """),
    _dt(0x0107, "Occupancy Sensor", 4, "1.6/device_types/OccupancySensor.xml", """
        0x0003 M
        0x0080 O
        0x0406 M
    """),
    _dt(0x0302, "Temperature Sensor", 3, "1.5/device_types/TemperatureSensor.xml (no 1.6 file)", """
        0x0003 M
        0x0204 O
        0x0402 M
    """),
    _dt(0x0307, "Humidity Sensor", 3, "1.6/device_types/HumiditySensor.xml", """
        0x0003 M
        0x0405 M
    """),
    _dt(0x0106, "Light Sensor", 4, "1.5.1/device_types/LightSensor.xml (no 1.6 file)", """
        0x0003 M
        0x0400 M
    """),
    _dt(0x0305, "Pressure Sensor", 3, "1.5.1/device_types/PressureSensor.xml (no 1.6 file)", """
        0x0003 M
        0x0403 M
    """),
    _dt(0x0306, "Flow Sensor", 3, "1.5/device_types/FlowSensor.xml (rev 2; no 1.6 file); rev 3 per the matter.js model", """
        0x0003 M
        0x0404 M
    """),
    _dt(0x0043, "Water Leak Detector", 2, "1.5.1/device_types/WaterLeakDetector.xml (rev 1; no 1.6 file); rev 2 per the matter.js model", """
        0x0003 M
        0x0045 M
        0x0080 O
    """, _BOOLEAN_EVENT_ELEMENTS),
    _dt(0x0041, "Water Freeze Detector", 2, "1.5/device_types/WaterFreezeDetector.xml (rev 1; no 1.6 file); rev 2 per the matter.js model", """
        0x0003 M
        0x0045 M
        0x0080 O
    """, _BOOLEAN_EVENT_ELEMENTS),
    _dt(0x0044, "Rain Sensor", 2, "1.5.1/device_types/RainSensor.xml (rev 1; no 1.6 file); rev 2 per the matter.js model", """
        0x0003 M
        0x0045 M
        0x0080 O
    """, _BOOLEAN_EVENT_ELEMENTS),
    _dt(0x0076, "Smoke CO Alarm", 2, "1.6/device_types/SmokeCOAlarm.xml", """
        0x0003 M
        0x0004 O
        0x005C M
        0x0402 O
        0x0405 O
        0x040C O
    """, root_conditions={"GroupcastListenerCond": "P, O"}),
    _dt(0x002C, "Air Quality Sensor", 1, "1.5.1/device_types/AirQualitySensor.xml (no 1.6 file)", """
        0x0003 M
        0x005B M
        0x0402 O
        0x0405 O
        0x040C O
        0x040D O
        0x0413 O
        0x0415 O
        0x042A O
        0x042B O
        0x042C O
        0x042D O
        0x042E O
        0x042F O
    """),
    _dt(0x002B, "Fan", 5, "1.6/device_types/Fan.xml", """
        0x0003 M
        0x0004 M
        0x0006 O
        0x0202 M
    """, root_conditions=_GROUPCAST),
    _dt(0x0510, "Electrical Sensor", 1, "master@162df095/device_types/ElectricalSensor.xml (no 1.6/1.5 file)", """
        0x0090 O
        0x0091 O
        0x009C M
    """),
    _dt(0x000F, "Generic Switch", 3, "1.5.1/device_types/GenericSwitch.xml (no 1.6 file)", """
        0x0003 M
        0x003B M
    """),
    _dt(0x0301, "Thermostat", 6, "1.6/device_types/Thermostat.xml", """
        0x0003 M
        0x0004 Active
        0x009B O
        0x0201 M
        0x0204 O
    """),
    _dt(0x000A, "Door Lock", 4, "1.5.1/device_types/DoorLock.xml (no 1.6 file)", """
        0x0003 M
        0x0004 X
        0x0062 X
        0x0101 M
    """, root_conditions={"ACLExtensionCond": "M", "TimeSyncCond": "O", "TimeSyncWithClientCond": "O"}),
    _dt(0x0202, "Window Covering", 6, "1.6/device_types/WindowCovering.xml", """
        0x0003 M
        0x0004 Active, O
        0x0102 M
        0x0104 X
        0x0105 X
    """),
]}


def cluster_facts(cluster_id: int) -> ClusterFacts | None:
    return CLUSTERS.get(cluster_id)


def device_type_facts(device_type: int) -> DeviceTypeFacts | None:
    return DEVICE_TYPES.get(device_type)
