; callgate.asm: far CALL/JMP through call gates, RETF to an outer ring, conforming
; code segments.
;
; Checks, and the SDM text they follow:
;  - far CALL from CPL 3 through a DPL-3 32-bit call gate (type 0xC) with parameter
;    count 2 to a DPL-0 non-conforming segment (SDM Vol 2 CALL, CALL-GATE /
;    MORE-PRIVILEGE; Vol 3 5.8.5, Figure 5-13): new SS:ESP from TSS SS0:ESP0, new
;    stack holds (from high to low) old SS, old ESP, param 1, param 2, old CS, old
;    EIP; CS = gate selector with RPL 0.
;  - RETF 8 back to CPL 3 (SDM Vol 2 RET, RETURN-TO-OUTER-PRIVILEGE-LEVEL): skips the
;    parameters on both stacks, restores CS/SS/ESP, nulls ES holding a DPL-0 data
;    selector.
;  - CALL through a gate whose DPL < CPL: #GP(gate selector); through a gate whose
;    DPL < selector RPL: #GP(gate selector); a not-present gate: #NP(gate selector);
;    a gate to a code segment with DPL > CPL: #GP(code selector) (SDM Vol 2 CALL).
;  - far JMP through a call gate: to the same privilege level it arrives without a
;    stack change or pushes; to a more privileged non-conforming segment it raises
;    #GP(code segment selector) (SDM Vol 2 JMP, CALL-GATE).
;  - conforming code (SDM Vol 3 5.8.1.2, Vol 2 CALL CONFORMING-CODE-SEGMENT): a far
;    CALL from CPL 3, directly or through a call gate, to a DPL-0 conforming
;    segment keeps CPL 3 (CS RPL 3, no stack switch, a DPL-0 data load faults).
;    Outside QEMU only: the CS RPL after a call through a gate to a conforming
;    segment (SDM CALL SAME-PRIVILEGE "CS(RPL) <- CPL"; QEMU 7.2 puts the DPL there).
;  - 16-bit call gate (type 4) from 16-bit CPL-3 code, parameter count 2 (SDM Vol 2
;    CALL, CallGateSize = 16): the parameter words are copied, the new stack holds
;    16-bit old SS, SP, params, CS, IP; a 16-bit RETF 4 returns to CPL 3.
;  - outside QEMU: a 16-bit call gate whose descriptor bytes 6-7 are non-zero: the
;    offset is the low 16 bits only (SDM Vol 3 5.8.3 "Call Gates": 16-bit gates have
;    16-bit offsets; Vol 2 CALL: "IP <- temp AND 0000FFFFH"). QEMU 7.2 honours the
;    high word.
%include "rom.inc"
%include "gates.inc"

GATE32          equ 0x40    ; 32-bit call gate, DPL 3, 2 params -> SEL_CODE32:cg32_target
GATE_DPL0       equ 0x48    ; 32-bit call gate, DPL 0 -> SEL_CODE32:jmp_target_r0
GATE_NP         equ 0x50    ; 32-bit call gate, DPL 3, not present
GATE_R3         equ 0x58    ; 32-bit call gate, DPL 3 -> SEL_CODE32_R3:jmp_target_r3
GATE16          equ 0x60    ; 16-bit call gate, DPL 3, 2 params -> SEL_CODE16:cg16_target
SEL_CODE16_R3   equ 0x6b    ; 16-bit code, base 0xF0000, DPL 3
SEL_CONF        equ 0x70    ; 32-bit conforming code, DPL 0, flat
GATE_CONF       equ 0x78    ; 32-bit call gate, DPL 3 -> SEL_CONF:conf_gate_target
GATE16_HI       equ 0x80    ; 16-bit call gate, DPL 0, high offset word 1 -> SEL_CODE16:hi16_target
GATE_TO_R3      equ 0x88    ; 32-bit call gate, DPL 0 -> SEL_CODE32_R3 (DPL 3 > CPL 0)
GATE_EXIT       equ 0x90    ; 32-bit call gate, DPL 3 -> SEL_CODE32:ring0_again

R3_ESP          equ 0x8f00
P1              equ 0x11111111
P2              equ 0x22222222

CODE16
main:
    ENTER_PM32 pm_main

CODE32

pm_main:
    PRINT "callgate: 32-bit gates", 10
    call setup_iomap
    CGATE GATE32, SEL_CODE32, cg32_target, 0xec02
    CGATE GATE_DPL0, SEL_CODE32, jmp_target_r0, 0x8c00
    CGATE GATE_NP, SEL_CODE32, cg32_target, 0x6c00
    CGATE GATE_R3, SEL_CODE32_R3, jmp_target_r3, 0xec00
    CGATE GATE16, SEL_CODE16, cg16_target, 0xe402
    SETDESC SEL_CODE16_R3 & ~3, 0xf0000, 0xffff, 0xfb, 0
    SETDESC SEL_CONF, 0, 0xfffff, 0x9f, FLG_4K32
    CGATE GATE_CONF, SEL_CONF, conf_gate_target, 0xec00
%ifndef QEMU
    CGATE GATE16_HI, SEL_CODE16, hi16_target + 0x10000, 0x8400
%endif
    CGATE GATE_TO_R3, SEL_CODE32_R3, jmp_target_r3, 0x8c00
    CGATE GATE_EXIT, SEL_CODE32, ring0_again, 0xec00
    mov ax, SEL_TSS
    ltr ax
    mov ax, SEL_DATA32_R3
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    push dword SEL_DATA32_R3
    push dword R3_ESP
    push dword 2
    push dword SEL_CODE32_R3
    push dword ring3_start
    iretd

ring3_start:
    ; ---- CALL through a 32-bit gate with 2 parameters, CPL 3 -> 0 ----
    mov ebp, esp
    push dword P1
    push dword P2
    mov dword [VAR_SCRATCH], 0
.call32:
    call GATE32:0x12345678          ; the offset is ignored
.ret32:
    mov ebx, esp
    mov esi, es
    mov ax, SEL_DATA32_R3
    mov es, ax
    CHECK32 ebx, ebp, "retf 8: esp (params popped from the caller stack)"
    CHECK32 cs, SEL_CODE32_R3, "retf 8: cs"
    CHECK32 ss, SEL_DATA32_R3, "retf 8: ss"
    CHECK32 esi, 0, "retf to cpl 3 nulls es (dpl 0)"
    CHECK32 ds, SEL_DATA32_R3, "retf keeps ds (dpl 3)"
    CHECK32 [VAR_SCRATCH], 1, "gate target ran"

    ; ---- CALL through a DPL-0 gate from CPL 3 -> #GP(gate) ----
    SET_RECOVERY .after_dpl
.call_dpl0:
    call GATE_DPL0:0
.after_dpl:
    CHECK_EXC 13, GATE_DPL0, "call gate dpl < cpl"
    CHECK32 [VAR_EXC_EIP], .call_dpl0, "call gate dpl < cpl: eip"

    ; ---- not-present gate -> #NP(gate) ----
    SET_RECOVERY .after_np
.call_np:
    call GATE_NP:0
.after_np:
    CHECK_EXC 11, GATE_NP, "call through a not-present gate"
    CHECK32 [VAR_EXC_EIP], .call_np, "not-present gate: eip"

    ; ---- JMP through a gate to a more privileged non-conforming segment ----
    SET_RECOVERY .after_jmp0
.jmp_gate32:
    jmp GATE32:0
.after_jmp0:
    CHECK_EXC 13, SEL_CODE32, "jmp through a gate to dpl-0 code"
    CHECK32 [VAR_EXC_EIP], .jmp_gate32, "jmp gate to dpl-0 code: eip"
    mov ebx, esp
    CHECK32 ebx, ebp, "jmp gate to dpl-0 code: esp"

    ; ---- JMP through a gate at the same privilege level ----
    jmp GATE_R3:0
.jmp_back_r3:
    ; ---- direct far CALL to a DPL-0 conforming segment: CPL stays 3 ----
    mov dword [VAR_SCRATCH], 0
    call SEL_CONF:conf_direct
.conf_direct_ret:
    mov ebx, esp
    CHECK32 ebx, ebp, "retf from conforming code: esp"
    CHECK32 cs, SEL_CODE32_R3, "retf from conforming code: cs"
    CHECK32 [VAR_SCRATCH], 2, "conforming code ran"
    ; ---- CALL through a gate to the conforming segment ----
    call GATE_CONF:0
.conf_gate_ret:
    mov ebx, esp
    CHECK32 ebx, ebp, "retf from conforming code via gate: esp"
    CHECK32 [VAR_SCRATCH], 3, "conforming code via gate ran"

    ; ---- 16-bit call gate from 16-bit CPL-3 code ----
    jmp SEL_CODE16_R3:ring3_16

ring3_16_back:
    ; back in 32-bit CPL 3: leave for ring 0 through a gate
    call GATE_EXIT:0

jmp_target_r3:
    mov ebx, esp
    CHECK32 ebx, ebp, "jmp through gate (same cpl): esp unchanged"
    CHECK32 cs, SEL_CODE32_R3, "jmp through gate (same cpl): cs"
    jmp ring3_start.jmp_back_r3

conf_direct:
    mov ebx, esp
    lea ecx, [ebp - 8]
    CHECK32 ebx, ecx, "conforming call: no stack switch"
    CHECK32 cs, SEL_CONF | 3, "conforming call: cs rpl = cpl 3"
    CHECK32 ss, SEL_DATA32_R3, "conforming call: ss"
    CHECK32 [ebx], ring3_start.conf_direct_ret, "conforming call: return eip"
    CHECK16 [ebx + 4], SEL_CODE32_R3, "conforming call: return cs"
    ; still CPL 3: a DPL-0 data selector cannot be loaded
    SET_RECOVERY .after_load
.load_dpl0:
    mov ax, SEL_DATA32
    mov es, ax
.after_load:
    CHECK_EXC 13, SEL_DATA32, "conforming code runs at cpl 3"
    CHECK16 [VAR_EXC_CS], SEL_CONF | 3, "conforming code: faulting cs"
    mov dword [VAR_SCRATCH], 2
    retf

conf_gate_target:
    mov ebx, esp
    lea ecx, [ebp - 8]
    CHECK32 ebx, ecx, "gate to conforming: no stack switch"
    CHECK32 [ebx], ring3_start.conf_gate_ret, "gate to conforming: return eip"
    CHECK16 [ebx + 4], SEL_CODE32_R3, "gate to conforming: return cs"
%ifndef QEMU
    ; SDM Vol 2 CALL, SAME-PRIVILEGE: "CS(RPL) <- CPL"; QEMU 7.2 loads the code
    ; segment's DPL (0) into CS.RPL for a call gate to a conforming segment, and
    ; then returns from an exception there to the wrong place
    CHECK32 cs, SEL_CONF | 3, "gate to conforming: cs rpl = cpl 3"
    SET_RECOVERY .after_load
.load_dpl0:
    mov ax, SEL_DATA32
    mov es, ax
.after_load:
    CHECK_EXC 13, SEL_DATA32, "conforming code via gate runs at cpl 3"
%endif
    mov dword [VAR_SCRATCH], 3
    retf

cg32_target:
    mov ebx, esp
    CHECK32 ebx, STACK_ESP0_TOP - 24, "call gate: esp = esp0 - 24"
    CHECK32 cs, SEL_CODE32, "call gate: cs"
    CHECK32 ss, SEL_DATA32, "call gate: ss = ss0"
    CHECK32 [ebx], ring3_start.ret32, "call gate frame: eip"
    CHECK16 [ebx + 4], SEL_CODE32_R3, "call gate frame: cs"
    CHECK32 [ebx + 8], P2, "call gate frame: param 2"
    CHECK32 [ebx + 12], P1, "call gate frame: param 1"
    lea ecx, [ebp - 8]
    CHECK32 [ebx + 16], ecx, "call gate frame: old esp"
    CHECK16 [ebx + 20], SEL_DATA32_R3, "call gate frame: old ss"
    mov dword [VAR_SCRATCH], 1
    mov ax, SEL_DATA32          ; DPL 0: RETF to CPL 3 must null ES
    mov es, ax
    retf 8

jmp_target_r0:
    mov ebx, esp
    CHECK32 ebx, ebp, "jmp through gate at cpl 0: esp unchanged"
    CHECK32 cs, SEL_CODE32, "jmp through gate at cpl 0: cs"
    jmp ring0_again.jmp_back_r0

ring0_again:
    mov ebx, esp
    CHECK32 ebx, STACK_ESP0_TOP - 16, "exit gate: esp"
    mov ax, SEL_DATA32
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov esp, STACK0_TOP
    PRINT "callgate: checks at cpl 0", 10
    mov ebp, esp

    ; ---- gate DPL 0 but selector RPL 3 -> #GP(gate) ----
    SET_RECOVERY .after_rpl
.call_rpl:
    call (GATE_DPL0 | 3):0
.after_rpl:
    CHECK_EXC 13, GATE_DPL0, "call gate dpl < rpl"
    CHECK32 [VAR_EXC_EIP], .call_rpl, "call gate dpl < rpl: eip"

    ; ---- gate to a code segment with DPL 3 > CPL 0 -> #GP(code selector) ----
    SET_RECOVERY .after_outer
.call_outer:
    call GATE_TO_R3:0
.after_outer:
    CHECK_EXC 13, SEL_CODE32_R3 & ~3, "call gate to dpl-3 code from cpl 0"
    CHECK32 [VAR_EXC_EIP], .call_outer, "call gate to dpl-3 code: eip"

    ; ---- JMP through a DPL-0 gate at CPL 0 ----
    jmp GATE_DPL0:0
.jmp_back_r0:

%ifndef QEMU
    ; ---- 16-bit gate whose bytes 6-7 are non-zero: offset is 16 bits (SDM Vol 3
    ; 5.8.3); QEMU 7.2 uses the high word ----
    jmp SEL_CODE16:ring0_16
ring0_16_back:
%endif
    PASS

CODE16
; ---- CPL 3, 16-bit code segment (base 0xF0000), 32-bit stack segment ----
ring3_16:
    mov ebp, esp
    CHECK32 cs, SEL_CODE16_R3, "16-bit ring 3: cs"
    push word 0x1111                ; param 1
    push word 0x2222                ; param 2
    mov dword [VAR_SCRATCH], 0
.call16:
    call GATE16:0x5678
.ret16:
    mov ebx, esp
    CHECK32 ebx, ebp, "16-bit retf 4: esp"
    CHECK32 cs, SEL_CODE16_R3, "16-bit retf 4: cs"
    CHECK32 ss, SEL_DATA32_R3, "16-bit retf 4: ss"
    CHECK32 [VAR_SCRATCH], 16, "16-bit gate target ran"
    jmp dword SEL_CODE32_R3:ring3_16_back

; ---- target of the 16-bit gate: CPL 0, 16-bit code ----
cg16_target:
    mov ebx, esp
    CHECK32 ebx, STACK_ESP0_TOP - 12, "16-bit gate: esp = esp0 - 12"
    CHECK32 cs, SEL_CODE16, "16-bit gate: cs"
    CHECK32 ss, SEL_DATA32, "16-bit gate: ss"
    CHECK16 [ebx], ring3_16.ret16, "16-bit gate frame: ip"
    CHECK16 [ebx + 2], SEL_CODE16_R3, "16-bit gate frame: cs"
    CHECK16 [ebx + 4], 0x2222, "16-bit gate frame: param 2"
    CHECK16 [ebx + 6], 0x1111, "16-bit gate frame: param 1"
    lea ecx, [ebp - 4]
    CHECK16 [ebx + 8], ecx, "16-bit gate frame: old sp"
    CHECK16 [ebx + 10], SEL_DATA32_R3, "16-bit gate frame: old ss"
    mov dword [VAR_SCRATCH], 16
    retf 4

%ifndef QEMU
; ---- CPL 0, 16-bit: call through the gate with a high offset word ----
ring0_16:
    mov dword [VAR_SCRATCH], 0
.call:
    call GATE16_HI:0
.ret:
    mov ebx, esp
    CHECK32 ebx, ebp, "16-bit gate (high word set): esp after retf"
    CHECK32 [VAR_SCRATCH], 0x1616, "16-bit gate (high word set): target ran"
    jmp dword SEL_CODE32:ring0_16_back

hi16_target:
    mov ebx, esp
    lea ecx, [ebp - 4]
    CHECK32 ebx, ecx, "16-bit gate (high word set): 2 words pushed"
    CHECK16 [ebx], ring0_16.ret, "16-bit gate (high word set): ip"
    CHECK16 [ebx + 2], SEL_CODE16, "16-bit gate (high word set): cs"
    mov dword [VAR_SCRATCH], 0x1616
    retf
%endif
