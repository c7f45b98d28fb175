; task.asm: hardware task switches with 32-bit TSSs (SDM Vol 3 chapter 7).
;
; Task A is the initial task (TSS at TSS_BASE, LTR SEL_TSS). Paging is on (4 MiB
; PSE pages) so that the CR3 load can be seen: PD_A and PD_A2 map linear 4-8 MiB
; to physical 4-8 MiB, PD_B maps it to physical 0-4 MiB.
;
; Checks, and the SDM text they follow:
;  - JMP to a TSS descriptor (SDM Vol 2 JMP TASK-STATE-SEGMENT; Vol 3 7.3 and
;    Table 7-2): the old task's state (EIP of the next instruction, EFLAGS, the
;    eight general registers, the six segment selectors) is saved in its TSS; the
;    static fields (CR3, LDT selector) and the previous-task link are not written;
;    the new task's EIP, EFLAGS, general registers, CR3, LDTR (loaded before the
;    segment registers: ES holds an LDT selector), segment registers come from its
;    TSS; old task not busy, new task busy, NT as in the new TSS (0), the new TSS's
;    previous-task link untouched, TR = new selector, CR0.TS set.
;  - JMP back to the first task: its saved state is reloaded (CR3 from the static
;    field, LDTR from the static field).
;  - CALL to a TSS: new task has NT=1 and previous-task link = old TSS selector,
;    the old task stays busy (Table 7-2).
;  - IRET with NT=1 (SDM Vol 2 IRET TASK-RETURN): back to the task in the link
;    field; the task left is no longer busy and its saved EFLAGS image has NT=0;
;    the returning task resumes after its CALL with NT=0.
;  - INT n through a task gate (SDM Vol 3 7.3, 6.11): same effects as CALL, nothing
;    is pushed on the new task's stack for a software interrupt.
;  - CALL and JMP to a busy TSS: #GP(TSS selector) (SDM Vol 2 CALL/JMP: "TSS
;    descriptor indicates TSS not available").
;  - JMP to a TSS with limit 0x66 (< 0x67): #TS(TSS selector), raised before the
;    task switch commits: faulting EIP is the JMP, TR and the busy flags unchanged
;    (SDM Vol 3 7.2.2 "attempting to switch to a task whose TSS descriptor has a
;    limit less than 67H generates #TS", 7.3 step 3, Table 6-6 / #TS error code =
;    TSS selector index).
;  - JMP to a not-present TSS: #NP(TSS selector) (SDM Vol 2 JMP).
%include "rom.inc"

SEL_TSSB        equ 0x40
SEL_TSSC        equ 0x48
SEL_TSSD        equ 0x50
SEL_LDT         equ 0x58
SEL_TSS_SHORT   equ 0x60        ; limit 0x66
SEL_TSS_NP      equ 0x68        ; not present
SEL_LDT_DATA    equ 0x0c        ; LDT index 1, TI=1: data, base LDT_DATA

TSSA            equ TSS_BASE
TSSB            equ 0x10000
TSSC            equ 0x10100
TSSD            equ 0x10200
TSSE            equ 0x10300
LDT             equ 0x10400
LDT_DATA        equ 0x12000
PD_A            equ 0x20000
PD_B            equ 0x21000
PD_A2           equ 0x22000

; TSS offsets
T_LINK equ 0x00
T_CR3 equ 0x1c
T_EIP equ 0x20
T_EFLAGS equ 0x24
T_EAX equ 0x28
T_ECX equ 0x2c
T_EDX equ 0x30
T_EBX equ 0x34
T_ESP equ 0x38
T_EBP equ 0x3c
T_ESI equ 0x40
T_EDI equ 0x44
T_ES equ 0x48
T_CS equ 0x4c
T_SS equ 0x50
T_DS equ 0x54
T_FS equ 0x58
T_GS equ 0x5c
T_LDT equ 0x60

A_FLAGS         equ 0xc7        ; CF PF ZF SF, bit 1
B_FLAGS         equ 0x8d7       ; all arithmetic flags, bit 1

; TSS_TMPL link, cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi,
;          es, cs, ss, ds, fs, gs, ldt
%macro TSS_TMPL 19
    dd %1, 0, 0, 0, 0, 0, 0, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12
    dd %13, %14, %15, %16, %17, %18, %19
    dw 0, 0x68
%endmacro

; COPY_TSS template, destination
%macro COPY_TSS 2
    mov esi, %1 + 0xF0000
    mov edi, %2
    mov ecx, 0x68 / 4
    rep movsd
%endmacro

; CHECK_STR / CHECK_LDTR expected, "what"
%macro CHECK_STR 2
    xor eax, eax
    str ax
    CHECK32 eax, %1, %2
%endmacro
%macro CHECK_LDTR 2
    xor eax, eax
    sldt ax
    CHECK32 eax, %1, %2
%endmacro
%macro CHECK_TS 2
    mov eax, cr0
    and eax, 8
    CHECK32 eax, %1, %2
%endmacro

[section .rodata]
tssB_tmpl:
    TSS_TMPL 0x1234, PD_B, taskB, B_FLAGS, 0xb0000001, 0xb0000002, 0xb0000003, \
             0xb0000004, 0x11f00, 0xb0000006, 0xb0000007, 0xb0000008, \
             SEL_LDT_DATA, SEL_CODE32, SEL_DATA32, SEL_DATA32, SEL_DATA16, 0, SEL_LDT
tssC_tmpl:
    TSS_TMPL 0, PD_A2, taskC, 2, 0, 0, 0, 0, 0x11e00, 0, 0, 0, \
             SEL_DATA32, SEL_CODE32, SEL_DATA32, SEL_DATA32, SEL_DATA32, SEL_DATA32, 0
tssD_tmpl:
    TSS_TMPL 0, PD_A2, taskD, 2, 0, 0, 0, 0, 0x11d00, 0, 0, 0, \
             SEL_DATA32, SEL_CODE32, SEL_DATA32, SEL_DATA32, SEL_DATA32, SEL_DATA32, 0
__?SECT?__

CODE16
main:
    ENTER_PM32 pm_main

CODE32
pm_main:
    PRINT "task: setup", 10
    ; page directories: PD_A/PD_A2 identity-map 0-8 MiB, PD_B maps 4-8 MiB to 0-4 MiB
    mov edi, PD_A
    xor eax, eax
    mov ecx, 3 * 1024
    rep stosd
    mov dword [PD_A], 0x00000083
    mov dword [PD_A + 4], 0x00400083
    mov dword [PD_A2], 0x00000083
    mov dword [PD_A2 + 4], 0x00400083
    mov dword [PD_B], 0x00000083
    mov dword [PD_B + 4], 0x00000083
    mov dword [0x450000], 0x11111111    ; seen at linear 0x450000 through PD_A
    mov dword [0x050000], 0x22222222    ; seen at linear 0x450000 through PD_B
    mov dword [LDT_DATA], 0xc0de1234

    COPY_TSS tssB_tmpl, TSSB
    COPY_TSS tssC_tmpl, TSSC
    COPY_TSS tssD_tmpl, TSSD
    COPY_TSS tssC_tmpl, TSSE
    mov dword [LDT], 0
    mov dword [LDT + 4], 0
    mov dword [LDT + 8], 0x0000ffff | ((LDT_DATA & 0xffff) << 16)
    mov dword [LDT + 12], ((LDT_DATA >> 16) & 0xff) | (0x93 << 8)
    SETDESC SEL_TSSB, TSSB, 0x67, ACC_TSS32, 0
    SETDESC SEL_TSSC, TSSC, 0x67, ACC_TSS32, 0
    SETDESC SEL_TSSD, TSSD, 0x67, ACC_TSS32, 0
    SETDESC SEL_LDT, LDT, 0x0f, 0x82, 0
    SETDESC SEL_TSS_SHORT, TSSE, 0x66, ACC_TSS32, 0
    SETDESC SEL_TSS_NP, TSSE, 0x67, ACC_TSS32 & 0x7f, 0
    ; task gate for INT 0x40
    mov dword [IDT_BASE + 0x40 * 8], SEL_TSSD << 16
    mov dword [IDT_BASE + 0x40 * 8 + 4], 0x8500
    ; static fields of task A: they differ from the live CR3/LDTR on purpose
    mov dword [TSSA + T_CR3], PD_A2
    mov dword [TSSA + T_LDT], SEL_LDT

    ; paging on
    mov eax, cr4
    or eax, 0x10                ; PSE
    mov cr4, eax
    mov eax, PD_A
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    CHECK32 [0x450000], 0x11111111, "paging through PD_A"

    mov ax, SEL_TSS
    ltr ax

    ; ---- JMP to task B ----
    PRINT "task: jmp to a tss", 10
    mov esp, STACK0_TOP
    mov ax, SEL_DATA16
    mov fs, ax
    xor ax, ax
    mov gs, ax
    mov eax, 0xa0000001
    mov ecx, 0xa0000002
    mov edx, 0xa0000003
    mov ebx, 0xa0000004
    mov ebp, 0xa0000006
    mov esi, 0xa0000007
    mov edi, 0xa0000008
    push dword A_FLAGS
    popfd
    jmp SEL_TSSB:0x12345678
.after_jmp_b:
    mov [VAR_SCRATCH + 4], esp
    CHECK_FLAGS 0x3f7fd7, A_FLAGS, "back in a: eflags"
    CHECK32 eax, 0xa0000001, "back in a: eax"
    CHECK32 ecx, 0xa0000002, "back in a: ecx"
    mov [VAR_SCRATCH + 12], edx     ; (CHECK32 cannot take EDX as "got")
    CHECK32 [VAR_SCRATCH + 12], 0xa0000003, "back in a: edx"
    CHECK32 ebx, 0xa0000004, "back in a: ebx"
    CHECK32 [VAR_SCRATCH + 4], STACK0_TOP, "back in a: esp"
    CHECK32 ebp, 0xa0000006, "back in a: ebp"
    CHECK32 esi, 0xa0000007, "back in a: esi"
    CHECK32 edi, 0xa0000008, "back in a: edi"
    CHECK32 cs, SEL_CODE32, "back in a: cs"
    CHECK32 ss, SEL_DATA32, "back in a: ss"
    CHECK32 ds, SEL_DATA32, "back in a: ds"
    CHECK32 es, SEL_DATA32, "back in a: es"
    CHECK32 fs, SEL_DATA16, "back in a: fs"
    CHECK32 gs, 0, "back in a: gs"
    CHECK_STR SEL_TSS, "back in a: tr"
    CHECK_LDTR SEL_LDT, "back in a: ldtr from the static field"
    mov eax, cr3
    CHECK32 eax, PD_A2, "back in a: cr3 from the static field"
    CHECK32 [0x450000], 0x11111111, "back in a: memory through PD_A2"
    CHECK_TS 8, "back in a: cr0.ts"
    clts
    CHECK8 [GDT_BASE + SEL_TSS + 5], 0x8b, "back in a: a busy"
    CHECK8 [GDT_BASE + SEL_TSSB + 5], 0x89, "back in a: b not busy"
    CHECK32 [TSSB + T_EIP], taskB.after_jmp_a, "tss b: saved eip"
    CHECK32 [TSSB + T_EAX], 0xb1b1b1b1, "tss b: saved eax"
    CHECK16 [TSSB + T_ES], SEL_LDT_DATA, "tss b: saved es"
    CHECK16 [TSSA + T_LINK], 0, "tss a: link untouched"

    ; ---- CALL to task C, IRET back ----
    PRINT "task: call to a tss, iret", 10
    mov dword [VAR_SCRATCH], 0
    call SEL_TSSC:0
.after_call_c:
    CHECK_FLAGS FL_NT, 0, "after iret from c: nt"
    CHECK32 [VAR_SCRATCH], 0xc, "task c ran"
    CHECK_STR SEL_TSS, "after iret from c: tr"
    CHECK_TS 8, "after iret from c: cr0.ts"
    clts
    CHECK8 [GDT_BASE + SEL_TSSC + 5], 0x89, "after iret from c: c not busy"
    CHECK8 [GDT_BASE + SEL_TSS + 5], 0x8b, "after iret from c: a busy"
    CHECK16 [TSSC + T_LINK], SEL_TSS, "tss c: link kept after iret"
    CHECK32 [TSSC + T_EIP], taskC.after_iret, "tss c: saved eip"
    mov eax, [TSSC + T_EFLAGS]
    and eax, FL_NT
    CHECK32 eax, 0, "tss c: saved eflags has nt clear"
    CHECK32 [TSSA + T_EIP], .after_call_c, "tss a: eip saved by call"

    ; ---- INT through a task gate ----
    PRINT "task: int through a task gate", 10
    mov dword [VAR_SCRATCH], 0
    int 0x40
.after_int_d:
    CHECK32 [VAR_SCRATCH], 0xd, "task d ran"
    CHECK_FLAGS FL_NT, 0, "after iret from d: nt"
    CHECK8 [GDT_BASE + SEL_TSSD + 5], 0x89, "after iret from d: d not busy"
    CHECK_STR SEL_TSS, "after iret from d: tr"
    clts

    ; ---- CALL / JMP to a busy TSS ----
    PRINT "task: faults", 10
    SET_RECOVERY .after_busy_call
.busy_call:
    call SEL_TSS:0
.after_busy_call:
    CHECK_EXC 13, SEL_TSS, "call to a busy tss"
    CHECK32 [VAR_EXC_EIP], .busy_call, "call to a busy tss: eip"
    SET_RECOVERY .after_busy_jmp
.busy_jmp:
    jmp SEL_TSS:0
.after_busy_jmp:
    CHECK_EXC 13, SEL_TSS, "jmp to a busy tss"
    CHECK32 [VAR_EXC_EIP], .busy_jmp, "jmp to a busy tss: eip"

    ; ---- JMP to a TSS whose limit is 0x66 -> #TS before the switch ----
    SET_RECOVERY .after_short
.short_jmp:
    jmp SEL_TSS_SHORT:0
.after_short:
    CHECK_EXC 10, SEL_TSS_SHORT, "jmp to a tss with limit 0x66"
    CHECK32 [VAR_EXC_EIP], .short_jmp, "tss limit 0x66: eip (old task)"
    CHECK_STR SEL_TSS, "tss limit 0x66: tr unchanged"
    CHECK8 [GDT_BASE + SEL_TSS + 5], 0x8b, "tss limit 0x66: old task busy"
    CHECK8 [GDT_BASE + SEL_TSS_SHORT + 5], 0x89, "tss limit 0x66: new task not busy"
    CHECK_TS 0, "tss limit 0x66: cr0.ts not set"

    ; ---- JMP to a not-present TSS -> #NP ----
    SET_RECOVERY .after_np
.np_jmp:
    jmp SEL_TSS_NP:0
.after_np:
    CHECK_EXC 11, SEL_TSS_NP, "jmp to a not-present tss"
    CHECK32 [VAR_EXC_EIP], .np_jmp, "not-present tss: eip"
    PASS

; ---- task B: entered by JMP ----
taskB:
    mov [VAR_SCRATCH + 8], esp
    CHECK_FLAGS 0x3f7fd7, B_FLAGS, "task b: eflags (nt clear)"
    CHECK32 eax, 0xb0000001, "task b: eax"
    CHECK32 ecx, 0xb0000002, "task b: ecx"
    mov [VAR_SCRATCH + 12], edx
    CHECK32 [VAR_SCRATCH + 12], 0xb0000003, "task b: edx"
    CHECK32 ebx, 0xb0000004, "task b: ebx"
    CHECK32 [VAR_SCRATCH + 8], 0x11f00, "task b: esp"
    CHECK32 ebp, 0xb0000006, "task b: ebp"
    CHECK32 esi, 0xb0000007, "task b: esi"
    CHECK32 edi, 0xb0000008, "task b: edi"
    CHECK32 cs, SEL_CODE32, "task b: cs"
    CHECK32 ss, SEL_DATA32, "task b: ss"
    CHECK32 ds, SEL_DATA32, "task b: ds"
    CHECK32 es, SEL_LDT_DATA, "task b: es (ldt selector)"
    CHECK32 fs, SEL_DATA16, "task b: fs"
    CHECK32 gs, 0, "task b: gs"
    CHECK32 [es:0], 0xc0de1234, "task b: es base from the ldt"
    CHECK_STR SEL_TSSB, "task b: tr"
    CHECK_LDTR SEL_LDT, "task b: ldtr"
    mov eax, cr3
    CHECK32 eax, PD_B, "task b: cr3"
    CHECK32 [0x450000], 0x22222222, "task b: memory through PD_B"
    CHECK_TS 8, "task b: cr0.ts set by the switch"
    CHECK8 [GDT_BASE + SEL_TSS + 5], 0x89, "task b: a not busy after jmp"
    CHECK8 [GDT_BASE + SEL_TSSB + 5], 0x8b, "task b: b busy"
    CHECK16 [TSSB + T_LINK], 0x1234, "task b: link untouched by jmp"
    ; state of task A saved in its TSS
    CHECK32 [TSSA + T_EIP], pm_main.after_jmp_b, "tss a: saved eip"
    CHECK32 [TSSA + T_EFLAGS], A_FLAGS, "tss a: saved eflags"
    CHECK32 [TSSA + T_EAX], 0xa0000001, "tss a: saved eax"
    CHECK32 [TSSA + T_ECX], 0xa0000002, "tss a: saved ecx"
    CHECK32 [TSSA + T_EDX], 0xa0000003, "tss a: saved edx"
    CHECK32 [TSSA + T_EBX], 0xa0000004, "tss a: saved ebx"
    CHECK32 [TSSA + T_ESP], STACK0_TOP, "tss a: saved esp"
    CHECK32 [TSSA + T_EBP], 0xa0000006, "tss a: saved ebp"
    CHECK32 [TSSA + T_ESI], 0xa0000007, "tss a: saved esi"
    CHECK32 [TSSA + T_EDI], 0xa0000008, "tss a: saved edi"
    CHECK16 [TSSA + T_ES], SEL_DATA32, "tss a: saved es"
    CHECK16 [TSSA + T_CS], SEL_CODE32, "tss a: saved cs"
    CHECK16 [TSSA + T_SS], SEL_DATA32, "tss a: saved ss"
    CHECK16 [TSSA + T_DS], SEL_DATA32, "tss a: saved ds"
    CHECK16 [TSSA + T_FS], SEL_DATA16, "tss a: saved fs"
    CHECK16 [TSSA + T_GS], 0, "tss a: saved gs"
    CHECK32 [TSSA + T_CR3], PD_A2, "tss a: cr3 field not written"
    CHECK16 [TSSA + T_LDT], SEL_LDT, "tss a: ldt field not written"
    CHECK16 [TSSA + T_LINK], 0, "tss a: link not written"
    clts
    mov eax, 0xb1b1b1b1
    jmp SEL_TSS:0
.after_jmp_a:
    FAIL "task b resumed"

; ---- task C: entered by CALL ----
taskC:
    CHECK_FLAGS FL_NT | FL_IF, FL_NT, "task c: nt set by call"
    CHECK16 [TSSC + T_LINK], SEL_TSS, "task c: link = caller tss"
    CHECK_STR SEL_TSSC, "task c: tr"
    CHECK_LDTR 0, "task c: ldtr"
    CHECK_TS 8, "task c: cr0.ts"
    CHECK8 [GDT_BASE + SEL_TSS + 5], 0x8b, "task c: a stays busy"
    CHECK8 [GDT_BASE + SEL_TSSC + 5], 0x8b, "task c: c busy"
    mov eax, cr3
    CHECK32 eax, PD_A2, "task c: cr3"
    mov dword [VAR_SCRATCH], 0xc
    iretd
.after_iret:
    FAIL "task c resumed"

; ---- task D: entered by INT 0x40 through a task gate ----
taskD:
    mov [VAR_SCRATCH + 8], esp
    CHECK_FLAGS FL_NT, FL_NT, "task d: nt set"
    CHECK32 [VAR_SCRATCH + 8], 0x11d00, "task d: nothing pushed on its stack"
    CHECK16 [TSSD + T_LINK], SEL_TSS, "task d: link"
    CHECK_STR SEL_TSSD, "task d: tr"
    CHECK_TS 8, "task d: cr0.ts"
    CHECK8 [GDT_BASE + SEL_TSS + 5], 0x8b, "task d: a stays busy"
    CHECK32 [TSSA + T_EIP], pm_main.after_int_d, "task d: a's saved eip after int"
    mov dword [VAR_SCRATCH], 0xd
    iretd
    FAIL "task d resumed"
