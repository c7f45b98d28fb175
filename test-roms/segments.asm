; segments.asm: protected-mode segment register loads and far JMP: which
; descriptors are accepted, and the exact exception, error code and faulting EIP
; when they are not. All at CPL 0 (privilege cases use the RPL).
;
; MOV Sreg / POP Sreg / LDS-LES-LFS-LGS-LSS pages (Operation and "Protected Mode
; Exceptions"), SDM Vol 3 5.4-5.6 (privilege checks for data and stack segments),
; 3.4.2 (null selector), 3.4.5.1 (types, accessed bit), 3.5.1 (LDT):
;   - null selector: into DS/ES/FS/GS with RPL 0 or 3 is allowed; a later memory
;     access through it is #GP(0) (MOV, STOSD; %ifndef QEMU: QEMU 7.2 does not
;     check); into SS by MOV, POP or LSS #GP(0)
;   - index past the GDT limit #GP(sel & FFFCh); a descriptor that is only partly
;     inside the limit is past it (limit 46h vs 47h for selector 40h)
;   - TI=1 with a null LDTR: #GP(sel & FFFCh) (also FFFFh -> FFFCh)
;   - DS..GS: execute-only code, TSS, LDT descriptor -> #GP(sel); readable code ok
;     (and readable through the register); conforming readable code ok with any
;     RPL; data or non-conforming code with RPL > DPL -> #GP(sel)
;   - SS: RPL != CPL, DPL != CPL, read-only data, code, TSS -> #GP(sel)
;   - not present: DS..GS #NP(sel), SS #SS(sel); type and privilege are checked
;     before presence (#GP for a not-present execute-only code segment, or a
;     not-present data segment with RPL > DPL)
;   - a faulting load leaves the segment register, and for POP/LxS ESP and the
;     offset register, unchanged; the faulting EIP is the load instruction
;   - MOV to a segment register ignores the upper half of a 32-bit source
;   - MOV CS is #UD (MOV page)
;   - LDT: LLDT, selectors with TI=1 (index 0 of an LDT is a real descriptor),
;     past the LDT limit -> #GP(sel), not present -> #NP(sel)
;   - the accessed bit is set by a load: DS-type register (GDT and LDT), SS, CS
;     (far JMP; %ifndef QEMU: QEMU 7.2 does not set it for CS)
; JMP page (far jumps, protected mode):
;   - to a data segment -> #GP(sel); null -> #GP(0); RPL > CPL or DPL != CPL for a
;     non-conforming target -> #GP(sel); not present -> #NP(sel); offset past the
;     target limit -> #GP(0); to conforming code the new CS.RPL is the CPL
;   - CS limit: a near JMP past the CS limit -> #GP(0) at the JMP (JMP page); an
;     instruction that runs over the CS limit -> #GP(0) at that instruction
;     (SDM Vol 3 5.3 "Limit Checking"; %ifndef QEMU: QEMU 7.2 does not check)
%include "rom.inc"
%include "checks.inc"

; LDTDESC index, base, limit, access, flags (into the LDT at LDT_BASE)
%macro LDTDESC 5
    mov dword [LDT_BASE + (%1)*8], ((%3) & 0xffff) | (((%2) & 0xffff) << 16)
    mov dword [LDT_BASE + (%1)*8 + 4], (((%2) >> 16) & 0xff) | ((%4) << 8) | ((((%3) >> 16) & 0xf) << 16) | ((%5) << 20) | ((%2) & 0xff000000)
%endmacro

LDT_BASE    equ 0x11000

SEL_DW      equ 0x40    ; data, writable, DPL 0, 4 GiB
SEL_XO      equ 0x48    ; code, execute-only, DPL 0
SEL_RC      equ 0x50    ; code, readable, DPL 0, accessed bit clear
SEL_D3      equ 0x58    ; data, writable, DPL 3
SEL_RO      equ 0x60    ; data, read-only, DPL 0
SEL_NPD     equ 0x68    ; data, writable, DPL 0, not present
SEL_NPC     equ 0x70    ; code, readable, DPL 0, not present
SEL_DA      equ 0x78    ; data, writable, base 10000h, accessed bit clear
SEL_LDT     equ 0x80    ; LDT descriptor (LDT_BASE, 3 entries)
SEL_CONF    equ 0x88    ; code, conforming, readable, DPL 0
SEL_CSLIM   equ 0x90    ; 32-bit code, base 0, limit cslim_end-1 (byte granular)
SEL_CODEA   equ 0x98    ; 32-bit code, readable, accessed bit clear
SEL_SSA     equ 0xa0    ; data, writable, 4 GiB, accessed bit clear (for SS)
SEL_XONP    equ 0xa8    ; code, execute-only, not present
SEL_CSLIM2  equ 0xb0    ; 32-bit code, base 0, limit cs2_entry+1
SEL_D16     equ 0xb8    ; data, writable, base 20000h, 64 KiB

CODE16
main:
    PRINT "segments", 10
    ENTER_PM32 pm_main

CODE32
pm_main:
    SETDESC SEL_DW,    0, 0xfffff, 0x93, FLG_4K32
    SETDESC SEL_XO,    0, 0xfffff, 0x99, FLG_4K32
    SETDESC SEL_RC,    0, 0xfffff, 0x9a, FLG_4K32
    SETDESC SEL_D3,    0, 0xfffff, 0xf3, FLG_4K32
    SETDESC SEL_RO,    0, 0xfffff, 0x91, FLG_4K32
    SETDESC SEL_NPD,   0, 0xfffff, 0x13, FLG_4K32
    SETDESC SEL_NPC,   0, 0xfffff, 0x1b, FLG_4K32
    SETDESC SEL_DA,    0x10000, 0xffff, 0x92, 0
    SETDESC SEL_LDT,   LDT_BASE, 0x17, 0x82, 0
    SETDESC SEL_CONF,  0, 0xfffff, 0x9f, FLG_4K32
    SETDESC SEL_CSLIM, 0, cslim_end - $$ + 0xF6000 - 1, 0x9b, FLG_32
    SETDESC SEL_CODEA, 0, 0xfffff, 0x9a, FLG_4K32
    SETDESC SEL_SSA,   0, 0xfffff, 0x92, FLG_4K32
    SETDESC SEL_XONP,  0, 0xfffff, 0x19, FLG_4K32
    SETDESC SEL_CSLIM2, 0, cs2_entry - $$ + 0xF6000 + 1, 0x9b, FLG_32
    SETDESC SEL_D16,   0x20000, 0xffff, 0x93, 0
    LDTDESC 0, 0x12000, 0xffff, 0x92, 0         ; data, A=0
    LDTDESC 1, 0x13000, 0xffff, 0xf3, 0         ; data, DPL 3
    LDTDESC 2, 0x14000, 0xffff, 0x13, 0         ; data, not present

    ; ---------------------------------------------------------------- null selector
    PRINT "segments: null selectors", 10
    xor eax, eax
    TRYOK {mov es, ax}, "null into es"
    CHKSEG es, 0, "es holds the null selector"
    mov ax, 3
    TRYOK {mov fs, ax}, "null (RPL 3) into fs"
    CHKSEG fs, 3, "fs holds 0003"
    xor eax, eax
    TRYOK {mov gs, ax}, "null into gs"
%ifndef QEMU
    ; MOV page "Protected Mode Exceptions" / SDM Vol 3 3.4.2: using DS/ES/FS/GS
    ; that hold a null selector is #GP(0). QEMU 7.2 does not check this.
    TRYEXC {mov eax, [es:VAR_SCRATCH]}, 13, 0, "read through null es"
    TRYEXC {mov [fs:VAR_SCRATCH], eax}, 13, 0, "write through null fs (RPL 3)"
    mov edi, VAR_SCRATCH
    TRYEXC {stosd}, 13, 0, "stosd through null es"
    CHK edi, VAR_SCRATCH, "stosd: edi unchanged by the fault"
%endif
    xor eax, eax
    TRYEXC {mov ss, ax}, 13, 0, "null into ss"
    CHKSEG ss, SEL_DATA32, "ss unchanged after the fault"
    push dword 3
    mov [VAR_SCRATCH], esp
    TRYEXC {pop ss}, 13, 0, "pop ss of a null selector"
    mov ecx, esp
    CHK ecx, [VAR_SCRATCH], "pop ss fault: esp unchanged"
    add esp, 4
    mov dword [VAR_SCRATCH+8], 0x1234
    mov word [VAR_SCRATCH+12], 0
    mov ebx, esp
    TRYEXC {lss esp, [VAR_SCRATCH+8]}, 13, 0, "lss with a null selector"
    mov ecx, esp
    CHK ecx, ebx, "lss fault: esp unchanged"
    mov ax, SEL_DATA32
    mov es, ax
    mov fs, ax
    mov gs, ax

    ; ----------------------------------------------------------------- table limits
    PRINT "segments: table limits", 10
    mov ax, 0x100
    TRYEXC {mov ds, ax}, 13, 0x100, "selector 100h past the GDT limit"
    CHKSEG ds, SEL_DATA32, "ds unchanged after the fault"
    mov ax, 0x103
    TRYEXC {mov es, ax}, 13, 0x100, "selector 103h: error code drops the RPL"
    push dword 0x108
    mov [VAR_SCRATCH], esp
    TRYEXC {pop es}, 13, 0x108, "pop es past the GDT limit"
    mov ecx, esp
    CHK ecx, [VAR_SCRATCH], "pop es fault: esp unchanged"
    add esp, 4
    mov dword [VAR_SCRATCH+8], 0x5555
    mov word [VAR_SCRATCH+12], 0x1f8
    mov esi, 0x12345678
    TRYEXC {lgs esi, [VAR_SCRATCH+8]}, 13, 0x1f8, "lgs past the GDT limit"
    CHK esi, 0x12345678, "lgs fault: esi unchanged"
    ; selector 40h with a GDT limit of 46h: descriptor bytes 40h-47h not all inside
    sgdt [VAR_SCRATCH+16]
    mov word [VAR_SCRATCH+24], 0x46
    mov dword [VAR_SCRATCH+26], GDT_BASE
    lgdt [VAR_SCRATCH+24]
    mov ax, SEL_DW
    TRYEXC {mov es, ax}, 13, SEL_DW, "GDT limit 46h: selector 40h"
    mov word [VAR_SCRATCH+24], 0x47
    lgdt [VAR_SCRATCH+24]
    TRYOK {mov es, ax}, "GDT limit 47h: selector 40h"
    lgdt [VAR_SCRATCH+16]
    ; LDTR is null (never loaded)
    mov ax, 0x04
    TRYEXC {mov es, ax}, 13, 0x04, "LDT selector 04h with a null LDTR"
    mov ax, 0x0f
    TRYEXC {mov fs, ax}, 13, 0x0c, "LDT selector 0Fh with a null LDTR"
    mov ax, 0xffff
    TRYEXC {mov gs, ax}, 13, 0xfffc, "selector FFFFh with a null LDTR"
    mov eax, 0xffff0010
    TRYOK {mov es, eax}, "mov es, eax (upper half ignored)"
    CHKSEG es, SEL_DATA32, "es = low half of eax"

    ; ------------------------------------------------------------------------ types
    PRINT "segments: descriptor types", 10
    mov ax, SEL_XO
    TRYEXC {mov ds, ax}, 13, SEL_XO, "execute-only code into ds"
    TRYEXC {mov es, ax}, 13, SEL_XO, "execute-only code into es"
    mov ax, SEL_TSS
    TRYEXC {mov fs, ax}, 13, SEL_TSS, "TSS into fs"
    TRYEXC {mov ss, ax}, 13, SEL_TSS, "TSS into ss"
    mov ax, SEL_LDT
    TRYEXC {mov gs, ax}, 13, SEL_LDT, "LDT descriptor into gs"
    mov ax, SEL_RC
    TRYOK {mov es, ax}, "readable code into es"
    CHKSEG es, SEL_RC, "es = readable code selector"
    CHK [es:ro_const + 0xf0000], 0x600dc0de, "read through a readable code segment"
    TRYEXC {mov ss, ax}, 13, SEL_RC, "readable code into ss"
    mov ax, SEL_XO
    TRYEXC {mov ss, ax}, 13, SEL_XO, "execute-only code into ss"
    mov ax, SEL_RO
    TRYOK {mov fs, ax}, "read-only data into fs"
    TRYEXC {mov ss, ax}, 13, SEL_RO, "read-only data into ss"

    ; -------------------------------------------------------------------- privilege
    PRINT "segments: privilege", 10
    mov ax, SEL_DATA32 | 3
    TRYEXC {mov es, ax}, 13, SEL_DATA32, "DPL 0 data with RPL 3 into es"
    mov ax, SEL_RC | 3
    TRYEXC {mov fs, ax}, 13, SEL_RC, "DPL 0 non-conforming code with RPL 3 into fs"
    mov ax, SEL_CONF | 3
    TRYOK {mov gs, ax}, "DPL 0 conforming code with RPL 3 into gs"
    CHKSEG gs, SEL_CONF | 3, "gs keeps RPL 3"
    mov ax, SEL_D3
    TRYOK {mov es, ax}, "DPL 3 data with RPL 0 into es"
    mov ax, SEL_D3 | 3
    TRYOK {mov es, ax}, "DPL 3 data with RPL 3 into es"
    mov ax, SEL_DATA32 | 3
    TRYEXC {mov ss, ax}, 13, SEL_DATA32, "ss: RPL 3 != CPL 0"
    mov ax, SEL_D3
    TRYEXC {mov ss, ax}, 13, SEL_D3, "ss: DPL 3 != CPL 0"
    mov ax, SEL_D3 | 3
    TRYEXC {mov ss, ax}, 13, SEL_D3, "ss: RPL 3 and DPL 3 at CPL 0"
    CHKSEG ss, SEL_DATA32, "ss unchanged"

    ; ------------------------------------------------------------------ not present
    PRINT "segments: not present", 10
    mov ax, SEL_NPD
    TRYEXC {mov es, ax}, 11, SEL_NPD, "not-present data into es"
    TRYEXC {mov ds, ax}, 11, SEL_NPD, "not-present data into ds"
    TRYEXC {mov ss, ax}, 12, SEL_NPD, "not-present data into ss"
    mov dword [VAR_SCRATCH+8], 0x1000
    mov word [VAR_SCRATCH+12], SEL_NPD
    mov ebx, 0xabcdef01
    TRYEXC {lfs ebx, [VAR_SCRATCH+8]}, 11, SEL_NPD, "lfs of a not-present segment"
    CHK ebx, 0xabcdef01, "lfs fault: ebx unchanged"
    mov ax, SEL_NPD | 3
    TRYEXC {mov gs, ax}, 13, SEL_NPD, "not present and RPL 3: privilege first"
    mov ax, SEL_XONP
    TRYEXC {mov es, ax}, 13, SEL_XONP, "not-present execute-only code: type first"
    mov ax, SEL_NPD | 3
    TRYEXC {mov ss, ax}, 13, SEL_NPD, "ss: not present and RPL 3: privilege first"
    CHKSEG es, SEL_D3 | 3, "es unchanged by the faults"

    ; ------------------------------------------------------------------ accessed bit
    PRINT "segments: accessed bit", 10
    CHK8 [GDT_BASE + SEL_DA + 5], 0x92, "SEL_DA starts with A=0"
    mov ax, SEL_DA
    TRYOK {mov es, ax}, "SEL_DA into es"
    CHK8 [GDT_BASE + SEL_DA + 5], 0x93, "load into es sets the accessed bit"
    mov dword [es:0x20], 0x0da7a000
    CHK [0x10020], 0x0da7a000, "es base 10000h"
    CHK8 [GDT_BASE + SEL_RC + 5], 0x9b, "readable code: loaded into es above, A set"
    mov ax, SEL_SSA
    mov ss, ax
    call noexc_helper
    db "SEL_SSA into ss", 0
    mov ax, SEL_DATA32
    mov ss, ax
    CHK8 [GDT_BASE + SEL_SSA + 5], 0x93, "load into ss sets the accessed bit"
    CHK8 [GDT_BASE + SEL_CODEA + 5], 0x9a, "SEL_CODEA starts with A=0"
    jmp SEL_CODEA:.in_codea
.in_codea:
    CHKSEG cs, SEL_CODEA, "far jmp to SEL_CODEA"
    jmp SEL_CODE32:.back_codea
.back_codea:
%ifndef QEMU
    ; SDM Vol 3 3.4.5.1 (type field, accessed bit): the processor sets A when it
    ; loads the selector into a segment register, CS included; QEMU 7.2 sets it for
    ; data/stack loads but not for a far JMP.
    CHK8 [GDT_BASE + SEL_CODEA + 5], 0x9b, "far jmp sets the accessed bit of the code segment"
%endif

    ; -------------------------------------------------------------------------- LDT
    PRINT "segments: LDT", 10
    mov ax, SEL_LDT
    lldt ax
    call noexc_helper
    db "lldt", 0
    sldt ax
    CHK16 ax, SEL_LDT, "sldt"
    mov ax, 0x04
    TRYOK {mov es, ax}, "LDT index 0 (selector 04h) into es"
    CHKSEG es, 0x04, "es = 0004"
    mov dword [es:0x10], 0x1d71d700
    CHK [0x12010], 0x1d71d700, "es from the LDT: base 12000h"
    CHK8 [LDT_BASE + 5], 0x93, "the load set the accessed bit in the LDT"
    mov ax, 0x0f
    TRYOK {mov fs, ax}, "LDT index 1 (DPL 3, RPL 3) into fs"
    mov dword [0x13008], 0x0f0f0f0f
    CHK [fs:0x08], 0x0f0f0f0f, "fs from the LDT: base 13000h"
    mov ax, 0x14
    TRYEXC {mov gs, ax}, 11, 0x14, "not-present LDT entry"
    mov ax, 0x1c
    TRYEXC {mov gs, ax}, 13, 0x1c, "selector 1Ch past the LDT limit 17h"
    mov ax, 0xffff
    TRYEXC {mov gs, ax}, 13, 0xfffc, "selector FFFFh past the LDT limit"
    mov ax, 0x04
    mov ss, ax                      ; writable DPL 0 data from the LDT: a valid SS
    mov cx, ss
    mov ax, SEL_DATA32
    mov ss, ax
    call noexc_helper
    db "LDT data segment into ss", 0
    CHK16 cx, 0x04, "ss = 0004"
    xor eax, eax
    lldt ax
    call noexc_helper
    db "lldt with a null selector", 0
    mov ax, 0x04
    TRYEXC {mov gs, ax}, 13, 0x04, "LDT selector after lldt 0"
    mov ax, SEL_DATA32
    mov es, ax
    mov fs, ax
    mov gs, ax

    ; --------------------------------------------------------------------- far JMP
    PRINT "segments: far jmp", 10
    TRYEXC {jmp SEL_DW:0}, 13, SEL_DW, "far jmp to a data segment"
    TRYEXC {jmp 0:0}, 13, 0, "far jmp to the null selector"
    TRYEXC {jmp 3:0}, 13, 0, "far jmp to the null selector (RPL 3)"
    TRYEXC {jmp SEL_NPC:0}, 11, SEL_NPC, "far jmp to a not-present code segment"
    TRYEXC {jmp (SEL_CODE32|3):0}, 13, SEL_CODE32, "far jmp with RPL 3 > CPL to non-conforming code"
    TRYEXC {jmp (SEL_CODE32_R3 & ~3):0}, 13, SEL_CODE32_R3 & ~3, "far jmp to DPL 3 non-conforming code"
    TRYEXC {jmp (SEL_TSS + 0x100):0}, 13, SEL_TSS + 0x100, "far jmp past the GDT limit"
    TRYEXC {jmp SEL_CSLIM:cslim_end}, 13, 0, "far jmp past the target's limit"
    TRYEXC {db 0x8e, 0xc8}, 6, -1, "mov cs, ax"
    jmp (SEL_CONF|3):.in_conf
.in_conf:
    CHKSEG cs, SEL_CONF, "far jmp to conforming code: CS.RPL = CPL"
    jmp SEL_CODE32:.back_conf
.back_conf:

    ; --------------------------------------------------------------------- CS limit
%ifndef QEMU
    ; JMP page "Protected Mode Exceptions" and SDM Vol 3 5.3 "Limit Checking": a
    ; near jump past the CS limit, or an instruction that runs over it, is #GP(0)
    ; at that instruction. QEMU 7.2 does not check the CS limit on these.
    PRINT "segments: cs limit", 10
    SET_RECOVERY cslim_rec
    jmp SEL_CSLIM:cslim_code
cslim_back:
    push dword 13
    push dword 0
    push dword cslim_jmp
    call exc_helper
    db "near jmp past the cs limit", 0
    CHK [VAR_EXC_CS], SEL_CSLIM, "near jmp past the cs limit (cs)"
    SET_RECOVERY cs2_rec
    mov eax, 0x5a5a5a5a
    jmp SEL_CSLIM2:cs2_entry
cs2_back:
    push dword 13
    push dword 0
    push dword cs2_entry
    call exc_helper
    db "instruction running over the cs limit", 0
    CHK eax, 0x5a5a5a5a, "the instruction over the limit did not run"
%endif
    call noexc_helper
    db "segments: no stray exception", 0
    PASS

; code run through SEL_CSLIM (limit cslim_end - 1)
cslim_code:
cslim_jmp:
    jmp near cslim_beyond
cslim_rec:
%ifndef QEMU
    jmp SEL_CODE32:cslim_back
%endif
cslim_end:
cslim_beyond:
    FAIL "near jmp past the cs limit was taken"

; code run through SEL_CSLIM2 (limit cs2_entry + 1): the 5-byte MOV at cs2_entry
; has its last 3 bytes past the limit
cs2_rec:
%ifndef QEMU
    jmp SEL_CODE32:cs2_back
%endif
cs2_entry:
    mov eax, 0x12345678
    FAIL "instruction over the cs limit ran"

[section .rodata]
ro_const: dd 0x600dc0de

