; descinsn.asm: LAR, LSL, VERR, VERW, ARPL (and the real-mode #UD of the 0F 00
; group and ARPL).
;
; LAR page: ZF=1 and dest = descriptor dword 2 masked by 00FxFF00h (32-bit; bits
;   19:16 are "x", not compared here) or FF00h (16-bit, upper half of the register
;   kept) for: any code/data segment, and system types 1, 2, 3, 4, 5, 9, Bh, Ch;
;   ZF=0 and dest unchanged for: null selector, index past the GDT/LDT limit, TI=1
;   with a null LDTR, types 0, 6, 7, 8, Ah, Dh, Eh, Fh, and (except conforming
;   code) DPL < CPL or DPL < RPL. The P bit is not checked. Other flags unchanged.
; LSL page: same rules, but only types 1, 2, 3, 9, Bh among system descriptors;
;   dest = the limit in bytes (G=1: limit*4096+FFFh); 16-bit form: low 16 bits.
; VERR/VERW page: ZF=1 if the segment is readable (VERR: data, or readable code) /
;   writable (VERW: writable data) and DPL >= max(CPL, RPL) (conforming code: no
;   privilege check for VERR); null, past the limit, system -> ZF=0.
; ARPL page: if dest.RPL < src.RPL then dest.RPL = src.RPL, ZF=1, else ZF=0 and
;   dest unchanged; register and memory destination.
; Real mode: LAR, LSL, VERR, VERW, ARPL, SLDT, STR, LLDT, LTR -> #UD ("Real-Address
;   Mode Exceptions: #UD ... not recognized in real-address mode").
%include "rom.inc"
%include "checks.inc"

; SETGATE selector, offset, target selector, access, parameter count
%macro SETGATE 5
    mov dword [GDT_BASE + (%1)], ((%2) & 0xffff) | ((%3) << 16)
    mov dword [GDT_BASE + (%1) + 4], ((%2) & 0xffff0000) | ((%4) << 8) | (%5)
%endmacro
; SETFL value: EFLAGS = value
%macro SETFL 1
    push dword %1
    popfd
%endmacro
; CHKFL mask, expected, "what": (EFLAGS & mask) == expected, EFLAGS kept
%macro CHKFL 3+
    pushfd
    push eax
    mov eax, [esp+4]
    and eax, %1
    CHK eax, %2, %3
    pop eax
    popfd
%endmacro

FL_NOTZF    equ FL_CF | FL_PF | FL_AF | FL_SF | FL_OF    ; flags set around each insn
FLAGS_ZF0   equ 0x2 | FL_NOTZF
FLAGS_ZF1   equ 0x2 | FL_NOTZF | FL_ZF
JUNK        equ 0xdeadbeef
LDT_BASE    equ 0x11000

; LAR/LSL expect-success: insn reg,sel ; ZF must go 0 -> 1, other flags kept
; OKZF {insn}, "what"
%macro OKZF 2+
    SETFL FLAGS_ZF0
    %1
    CHKFL FL_ARITH, FL_NOTZF | FL_ZF, %2, " (flags)"
%endmacro
; NOZF {insn}, "what": ZF must go 1 -> 0, other flags kept
%macro NOZF 2+
    SETFL FLAGS_ZF1
    %1
    CHKFL FL_ARITH, FL_NOTZF, %2, " (flags)"
%endmacro

; LAR_OK sel, expected (masked with FFF0FFFFh), "what"
%macro LAR_OK 3+
    mov ecx, %1
    mov eax, JUNK
    OKZF {lar eax, ecx}, "lar ", %3
    and eax, 0xfff0ffff
    CHK eax, %2, "lar ", %3
%endmacro
%macro LAR_BAD 2+
    mov ecx, %1
    mov eax, JUNK
    NOZF {lar eax, ecx}, "lar ", %2
    CHK eax, JUNK, "lar ", %2, " (dest unchanged)"
%endmacro
%macro LSL_OK 3+
    mov ecx, %1
    mov eax, JUNK
    OKZF {lsl eax, ecx}, "lsl ", %3
    CHK eax, %2, "lsl ", %3
%endmacro
%macro LSL_BAD 2+
    mov ecx, %1
    mov eax, JUNK
    NOZF {lsl eax, ecx}, "lsl ", %2
    CHK eax, JUNK, "lsl ", %2, " (dest unchanged)"
%endmacro
; VER insn, sel, zf (0/1), "what"
%macro VER 4+
    mov cx, %2
%if %3
    OKZF {%1 cx}, %4
%else
    NOZF {%1 cx}, %4
%endif
%endmacro

S_DATA      equ 0x40    ; data RW DPL0, limit 12345h bytes, B=1 AVL=1
S_CODEP     equ 0x48    ; code ER DPL0, limit 1 pages (1FFFh), D=1
S_XO        equ 0x50    ; code execute-only DPL0
S_CONFXO    equ 0x58    ; conforming execute-only DPL0
S_CONFR     equ 0x60    ; conforming readable DPL0
S_RO        equ 0x68    ; data read-only DPL0
S_DATA3     equ 0x70    ; data RW DPL3, limit fffffh pages
S_NP        equ 0x78    ; data RW DPL0, not present, limit 0abcdh
S_LDT       equ 0x80    ; LDT (type 2), limit 27h
S_CGATE     equ 0x88    ; 32-bit call gate (type Ch), offset 00ab1234h, 5 params
S_TGATE     equ 0x90    ; task gate (type 5)
S_IGATE     equ 0x98    ; 32-bit interrupt gate (type Eh)
S_TRGATE    equ 0xa0    ; 32-bit trap gate (type Fh)
S_T0        equ 0xa8    ; type 0 (reserved)
S_T8        equ 0xb0    ; type 8 (reserved)
S_TSS16     equ 0xb8    ; 16-bit available TSS (type 1), limit 2bh
S_CGATE16   equ 0xc0    ; 16-bit call gate (type 4)
S_TSSB      equ 0xc8    ; 32-bit busy TSS (type Bh), limit 67h, G=0
S_TA        equ 0xd0    ; type Ah (reserved)
S_TD        equ 0xd8    ; type Dh (reserved)
S_IGATE16   equ 0xe0    ; 16-bit interrupt gate (type 6)
S_TGATE16   equ 0xe8    ; 16-bit trap gate (type 7)
S_TSS16B    equ 0xf0    ; 16-bit busy TSS (type 3)
S_CODE3     equ 0xf8    ; code ER DPL3 nonconforming

CODE16
main:
    PRINT "descinsn: real mode", 10
    INSTALL_RM_HANDLERS
%macro RM_UD 2+
    SET_RECOVERY %%r
%%f: %1
%%r:
    CHECK_EXC 6, 0xffffffff, %2
%endmacro
    mov ax, 0x10
    mov bx, 0x13
    RM_UD {lar ax, bx}, "real mode: lar"
    RM_UD {lsl ax, bx}, "real mode: lsl"
    RM_UD {verr bx}, "real mode: verr"
    RM_UD {verw bx}, "real mode: verw"
    RM_UD {arpl ax, bx}, "real mode: arpl"
    RM_UD {sldt ax}, "real mode: sldt"
    RM_UD {str ax}, "real mode: str"
    RM_UD {lldt ax}, "real mode: lldt"
    RM_UD {ltr ax}, "real mode: ltr"
    CHECK16 ax, 0x10, "real mode: arpl left ax alone"
    ENTER_PM32 pm_main

CODE32
pm_main:
    SETDESC S_DATA,   0x12345678, 0x12345, 0x93, 0x5
    SETDESC S_CODEP,  0x00abcdef, 0x00001, 0x9b, 0xc
    SETDESC S_XO,     0,          0xfffff, 0x99, 0xc
    SETDESC S_CONFXO, 0,          0xfffff, 0x9d, 0xc
    SETDESC S_CONFR,  0,          0x0ffff, 0x9f, 0x4
    SETDESC S_RO,     0,          0xfffff, 0x91, 0xc
    SETDESC S_DATA3,  0,          0xfffff, 0xf3, 0xc
    SETDESC S_NP,     0,          0x0abcd, 0x13, 0x4
    SETDESC S_LDT,    LDT_BASE,   0x27,    0x82, 0
    SETGATE S_CGATE,  0x00ab1234, SEL_CODE32, 0x8c, 5
    SETGATE S_TGATE,  0,          SEL_TSS, 0x85, 0
    SETGATE S_IGATE,  0x00001000, SEL_CODE32, 0x8e, 0
    SETGATE S_TRGATE, 0x00001000, SEL_CODE32, 0x8f, 0
    SETDESC S_T0,     0,          0x0ffff, 0x80, 0
    SETDESC S_T8,     0,          0x0ffff, 0x88, 0
    SETDESC S_TSS16,  0x4000,     0x2b,    0x81, 0
    SETGATE S_CGATE16, 0x1234,    SEL_CODE32, 0x84, 0
    SETDESC S_TSSB,   0x5000,     0x67,    0x8b, 0
    SETDESC S_TA,     0,          0x0ffff, 0x8a, 0
    SETDESC S_TD,     0,          0x0ffff, 0x8d, 0
    SETGATE S_IGATE16, 0x1000,    SEL_CODE32, 0x86, 0
    SETGATE S_TGATE16, 0x1000,    SEL_CODE32, 0x87, 0
    SETDESC S_TSS16B, 0x4000,     0x2b,    0x83, 0
    SETDESC S_CODE3,  0,          0xfffff, 0xfb, 0xc
    ; LDT: entry 0 data RW DPL0 limit 0fedch, entry 1 execute-only DPL 0
    mov dword [LDT_BASE], 0x0000fedc
    mov dword [LDT_BASE + 4], 0x00409300
    mov dword [LDT_BASE + 8], 0x0000ffff
    mov dword [LDT_BASE + 12], 0x00cf9900
    mov dword [LDT_BASE + 16], 0
    mov dword [LDT_BASE + 20], 0

    ; ------------------------------------------------------------------------ LAR
    PRINT "descinsn: lar", 10
    LAR_OK S_DATA,    0x00509300, "data (B=1, AVL=1)"
    LAR_OK S_CODEP,   0x00c09b00, "code (G=1, D=1)"
    LAR_OK S_XO,      0x00c09900, "execute-only code"
    LAR_OK S_CONFR|3, 0x00409f00, "conforming code, RPL 3"
    LAR_OK S_DATA3|3, 0x00c0f300, "DPL 3 data, RPL 3"
    LAR_OK S_NP,      0x00401300, "not-present data"
    LAR_OK SEL_TSS,   0x00008900, "32-bit TSS"
    LAR_OK S_TSSB,    0x00008b00, "busy 32-bit TSS"
    LAR_OK S_TSS16,   0x00008100, "16-bit TSS"
    LAR_OK S_TSS16B,  0x00008300, "busy 16-bit TSS"
    LAR_OK S_LDT,     0x00008200, "LDT"
    LAR_OK S_CGATE,   0x00a08c00, "32-bit call gate (offset bits 23:20 show)"
    LAR_OK S_CGATE16, 0x00008400, "16-bit call gate"
    LAR_OK S_TGATE,   0x00008500, "task gate"
    LAR_BAD 0,         "null selector"
    LAR_BAD 3,         "null selector RPL 3"
    LAR_BAD 0x100,     "past the GDT limit"
    LAR_BAD 0x0c,      "TI=1 with a null LDTR"
    LAR_BAD S_IGATE,   "32-bit interrupt gate"
    LAR_BAD S_TRGATE,  "32-bit trap gate"
    LAR_BAD S_IGATE16, "16-bit interrupt gate"
    LAR_BAD S_TGATE16, "16-bit trap gate"
    LAR_BAD S_T0,      "type 0"
    LAR_BAD S_T8,      "type 8"
    LAR_BAD S_TA,      "type Ah"
    LAR_BAD S_TD,      "type Dh"
    LAR_BAD S_DATA|3,  "DPL 0 data with RPL 3"
    LAR_BAD S_XO|1,    "DPL 0 code with RPL 1"
    LAR_BAD SEL_TSS|3, "DPL 0 TSS with RPL 3"
    LAR_BAD S_CGATE|2, "DPL 0 call gate with RPL 2"
    ; 16-bit form: FF00h mask, upper half of the register kept
    mov eax, 0x12345678
    mov cx, S_DATA
    OKZF {lar ax, cx}, "lar ax"
    CHK eax, 0x12349300, "lar ax: access byte in ah, upper half kept"
    ; memory source
    mov word [VAR_SCRATCH], S_CODEP
    mov eax, JUNK
    OKZF {lar eax, [VAR_SCRATCH]}, "lar eax, m16"
    CHK eax, 0x00c09b00, "lar eax, m16"

    ; ------------------------------------------------------------------------ LSL
    PRINT "descinsn: lsl", 10
    LSL_OK S_DATA,    0x00012345, "byte-granular data"
    LSL_OK S_CODEP,   0x00001fff, "page-granular code, limit 1"
    LSL_OK S_XO,      0xffffffff, "page-granular code, limit fffffh"
    LSL_OK S_CONFR|3, 0x0000ffff, "conforming code, RPL 3"
    LSL_OK S_DATA3|3, 0xffffffff, "DPL 3 data, RPL 3"
    LSL_OK S_NP,      0x0000abcd, "not-present data"
    LSL_OK SEL_TSS,   0x00000067, "32-bit TSS"
    LSL_OK S_TSSB,    0x00000067, "busy 32-bit TSS"
    LSL_OK S_TSS16,   0x0000002b, "16-bit TSS"
    LSL_OK S_TSS16B,  0x0000002b, "busy 16-bit TSS"
    LSL_OK S_LDT,     0x00000027, "LDT"
    LSL_BAD S_CGATE,   "32-bit call gate"
    LSL_BAD S_CGATE16, "16-bit call gate"
    LSL_BAD S_TGATE,   "task gate"
    LSL_BAD S_IGATE,   "interrupt gate"
    LSL_BAD S_TRGATE,  "trap gate"
    LSL_BAD S_T0,      "type 0"
    LSL_BAD S_TD,      "type Dh"
    LSL_BAD 0,         "null selector"
    LSL_BAD 0x100,     "past the GDT limit"
    LSL_BAD S_DATA|3,  "DPL 0 data with RPL 3"
    LSL_BAD SEL_TSS|1, "DPL 0 TSS with RPL 1"
    mov eax, 0x12345678
    mov cx, S_XO
    OKZF {lsl ax, cx}, "lsl ax"
    CHK eax, 0x1234ffff, "lsl ax: low 16 bits of ffffffff, upper half kept"
    mov eax, 0x87654321
    mov cx, S_DATA
    OKZF {lsl ax, cx}, "lsl ax (limit 12345h)"
    CHK eax, 0x87652345, "lsl ax: low 16 bits of 12345h"
    mov word [VAR_SCRATCH], SEL_TSS
    mov eax, JUNK
    OKZF {lsl eax, [VAR_SCRATCH]}, "lsl eax, m16"
    CHK eax, 0x67, "lsl eax, m16"

    ; ------------------------------------------------------------------ with an LDT
    mov ax, S_LDT
    lldt ax
    LAR_OK 0x04,       0x00409300, "LDT entry 0"
    LSL_OK 0x04,       0x0000fedc, "LDT entry 0"
    LSL_OK 0x0c,       0xffffffff, "LDT entry 1"
    LAR_BAD 0x2c,      "past the LDT limit 27h"
    LSL_BAD 0x2c,      "past the LDT limit 27h"
    LAR_BAD 0x14,      "LDT entry 2 (type 0)"
    VER verr, 0x04, 1, "verr LDT data"
    VER verr, 0x0c, 0, "verr LDT execute-only code"
    VER verw, 0x04, 1, "verw LDT data"
    xor eax, eax
    lldt ax

    ; ---------------------------------------------------------------- VERR / VERW
    PRINT "descinsn: verr/verw", 10
    VER verr, SEL_DATA32,   1, "verr data"
    VER verr, S_NP,         1, "verr not-present data (P is not checked)"
    VER verw, S_NP,         1, "verw not-present data (P is not checked)"
    VER verr, SEL_CODE32,   1, "verr readable code"
    VER verr, S_RO,         1, "verr read-only data"
    VER verr, S_XO,         0, "verr execute-only code"
    VER verr, S_CONFXO,     0, "verr conforming execute-only code"
    VER verr, S_CONFR|3,    1, "verr conforming readable code, RPL 3"
    VER verr, S_DATA3|3,    1, "verr DPL 3 data, RPL 3"
    VER verr, SEL_DATA32|3, 0, "verr DPL 0 data, RPL 3"
    VER verr, SEL_CODE32|1, 0, "verr DPL 0 readable code, RPL 1"
    VER verr, S_CODE3|3,    1, "verr DPL 3 readable code, RPL 3"
    VER verr, SEL_TSS,      0, "verr TSS"
    VER verr, S_LDT,        0, "verr LDT descriptor"
    VER verr, S_CGATE,      0, "verr call gate"
    VER verr, 0,            0, "verr null"
    VER verr, 0x100,        0, "verr past the GDT limit"
    VER verr, 0x04,         0, "verr TI=1 with a null LDTR"
    VER verw, SEL_DATA32,   1, "verw data"
    VER verw, S_DATA3,      1, "verw DPL 3 data, RPL 0"
    VER verw, S_DATA3|3,    1, "verw DPL 3 data, RPL 3"
    VER verw, S_RO,         0, "verw read-only data"
    VER verw, SEL_CODE32,   0, "verw readable code"
    VER verw, S_CONFR,      0, "verw conforming readable code"
    VER verw, S_XO,         0, "verw execute-only code"
    VER verw, SEL_DATA32|3, 0, "verw DPL 0 data, RPL 3"
    VER verw, SEL_TSS,      0, "verw TSS"
    VER verw, 0,            0, "verw null"
    VER verw, 0x100,        0, "verw past the GDT limit"
    mov word [VAR_SCRATCH], SEL_DATA32
    OKZF {verw word [VAR_SCRATCH]}, "verw m16"
    mov word [VAR_SCRATCH], S_XO
    NOZF {verr word [VAR_SCRATCH]}, "verr m16 (execute-only)"

    ; ------------------------------------------------------------------------ ARPL
    PRINT "descinsn: arpl", 10
    mov ebx, 0xabcd0010
    mov ecx, 0x00000003
    OKZF {arpl bx, cx}, "arpl 0010, 0003"
    CHK ebx, 0xabcd0013, "arpl raises the RPL to 3, upper half kept"
    mov ebx, 0x0000fff9
    mov ecx, 0x00000002
    OKZF {arpl bx, cx}, "arpl fff9, 0002"
    CHK ebx, 0x0000fffa, "arpl fff9, 0002 -> fffa"
    mov ebx, 0x00000013
    mov ecx, 0xffff0001
    NOZF {arpl bx, cx}, "arpl 0013, 0001"
    CHK ebx, 0x00000013, "arpl with a lower source RPL: dest unchanged"
    mov ebx, 0x00000012
    mov ecx, 0x00000012
    NOZF {arpl bx, cx}, "arpl 0012, 0012"
    CHK ebx, 0x00000012, "arpl with an equal RPL: dest unchanged"
    mov dword [VAR_SCRATCH], 0x55550008
    mov ecx, 0x0000fffe
    OKZF {arpl [VAR_SCRATCH], cx}, "arpl m16, 0fffeh"
    CHK [VAR_SCRATCH], 0x5555000a, "arpl m16: RPL 0 -> 2, next word kept"
    NOZF {arpl [VAR_SCRATCH], cx}, "arpl m16 again"
    CHK [VAR_SCRATCH], 0x5555000a, "arpl m16 again: unchanged"

    call noexc_helper
    db "descinsn: no stray exception", 0
    PASS

