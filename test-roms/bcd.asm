; bcd.asm: the decimal adjust instructions DAA DAS AAA AAS AAM AAD, in real mode and in
; 32-bit protected mode (they are invalid only in 64-bit mode, which this CPU lacks).
;
; What is checked (Intel SDM Vol. 2, the operation pseudocode and "Flags Affected" of
; each page; only the flags each page defines):
;   DAA DAS   AL per the pseudocode (the second adjustment tests the ORIGINAL AL > 99h
;             or the original CF; for DAS a borrow out of AL - 6 also sets CF);
;             CF AF SF ZF PF checked, OF undefined. AH and upper EAX unchanged.
;   AAA AAS   AX + 106h / AX - 6, AH - 1 (carry/borrow between AL and AH included),
;             AL high nibble cleared; AF CF checked, OF SF ZF PF undefined; upper EAX
;             unchanged.
;   AAM AAD   with base 10 (D4 0A / D5 0A) and other bases (the imm8 form, incl. 0 for
;             AAD); SF ZF PF checked, OF AF CF undefined.
;   AAM 0     #DE: exactly one exception, vector 0, saved CS:EIP = the AAM (a fault),
;             EAX..EDX and the flags unchanged.
; Checked flags that are not inputs are loaded opposite to their expected value.

%include "rom.inc"
%include "cases.inc"

; ---------------------------------------------------------------------------------
; The cases (run once in real mode, once in 32-bit protected mode; the same
; instruction text gets a 66/67 prefix as needed in each mode).
%macro SUITE 0
%assign CASE_NO 0

    ; ---- DAA (SDM "DAA"): CF AF SF ZF PF defined (OF undefined); the second adjustment tests the original AL > 99h or the original CF
    T   {daa}, 0x5a5a120a, -, -, -, OF|SF|ZF|PF, ARITH-OF, AF, eax, 0x5a5a1210  ; low digit > 9: +6, AF
    T   {daa}, 0x5a5a129a, -, -, -, SF, ARITH-OF, ZF|AF|PF|CF, eax, 0x5a5a1200  ; +66h: 00, CF AF ZF PF
    T   {daa}, 0x5a5a1299, -, -, -, OF|ZF, ARITH-OF, SF|PF, eax, 0x5a5a1299  ; valid BCD 99: unchanged, SF PF, AF CF clear
    T   {daa}, 0x5a5a1200, -, -, -, SF|ZF|AF, ARITH-OF, AF|PF, eax, 0x5a5a1206  ; AF in: +6
    T   {daa}, 0x5a5a1200, -, -, -, OF|SF|ZF|CF, ARITH-OF, PF|CF, eax, 0x5a5a1260  ; CF in: +60h, CF
    T   {daa}, 0x5a5a127f, -, -, -, ZF|PF, ARITH-OF, SF|AF, eax, 0x5a5a1285  ; 7f -> 85: AF, SF, no CF
    T   {daa}, 0x5a5a12fa, -, -, -, OF|SF|ZF, ARITH-OF, AF|PF|CF, eax, 0x5a5a1260  ; fa: +6 carries, then +60h: 60, CF AF
    T   {daa}, 0x5a5a1291, -, -, -, ZF|AF|PF|CF, ARITH-OF, SF|AF|CF, eax, 0x5a5a12f7  ; AF and CF in: f7
    T   {daa}, 0x5a5a12a0, -, -, -, OF|SF, ARITH-OF, ZF|PF|CF, eax, 0x5a5a1200  ; a0 > 99: +60h -> 00, CF ZF PF, AF clear

    ; ---- DAS (SDM "DAS"): CF AF SF ZF PF defined (OF undefined); CF also set by a borrow of AL - 6
    T   {das}, 0x5a5a120a, -, -, -, SF|ZF|PF, ARITH-OF, AF, eax, 0x5a5a1204  ; low digit > 9: -6 -> 04, AF
    T   {das}, 0x5a5a1200, -, -, -, OF|ZF|AF, ARITH-OF, SF|AF|PF|CF, eax, 0x5a5a12fa  ; AF in, AL < 6: borrow -> fa, CF AF
    T   {das}, 0x5a5a129a, -, -, -, SF|ZF|PF, ARITH-OF, AF|CF, eax, 0x5a5a1234  ; 9a -> 34, CF AF
    T   {das}, 0x5a5a12a0, -, -, -, OF|SF|ZF|PF, ARITH-OF, CF, eax, 0x5a5a1240  ; a0 -> 40, CF
    T   {das}, 0x5a5a1266, -, -, -, SF|ZF|CF, ARITH-OF, PF|CF, eax, 0x5a5a1206  ; CF in: 06, CF
    T   {das}, 0x5a5a1200, -, -, -, OF|SF, ARITH-OF, ZF|PF, eax, 0x5a5a1200  ; 00: unchanged, ZF PF
    T   {das}, 0x5a5a1299, -, -, -, ZF, ARITH-OF, SF|PF, eax, 0x5a5a1299  ; valid BCD 99: unchanged, SF PF
    T   {das}, 0x5a5a1210, -, -, -, OF|ZF|AF|CF, ARITH-OF, SF|AF|PF|CF, eax, 0x5a5a12aa  ; AF and CF in: aa

    ; ---- AAA (SDM "AAA"): AX + 106h when AL low digit > 9 or AF; AF = CF = that condition; AL high nibble cleared; OF SF ZF PF undefined
    T   {aaa}, 0x5a5a0009, -, -, -, 0, AF|CF, 0, eax, 0x5a5a0009  ; no adjust: AF = CF = 0
    T   {aaa}, 0x5a5a000a, -, -, -, OF|SF|ZF|PF, AF|CF, AF|CF, eax, 0x5a5a0100  ; adjust: 0100, AF CF
    T   {aaa}, 0x5a5a01fa, -, -, -, 0, AF|CF, AF|CF, eax, 0x5a5a0300  ; AL fa: AX + 106h carries into AH: 0300
    T   {aaa}, 0x5a5a0005, -, -, -, OF|SF|ZF|AF|PF, AF|CF, AF|CF, eax, 0x5a5a010b  ; AF in: 0005 -> 010b
    T   {aaa}, 0x5a5aff0a, -, -, -, 0, AF|CF, AF|CF, eax, 0x5a5a0000  ; AH ff wraps to 00, upper EAX kept
    T   {aaa}, 0x5a5a0079, -, -, -, OF|SF|ZF|PF|CF, AF|CF, 0, eax, 0x5a5a0009  ; CF in does not matter: 0009, CF cleared

    ; ---- AAS (SDM "AAS"): AX - 6 and AH - 1 when AL low digit > 9 or AF; AF = CF = that condition; AL high nibble cleared; OF SF ZF PF undefined
    T   {aas}, 0x5a5a0205, -, -, -, AF, AF|CF, AF|CF, eax, 0x5a5a000f  ; AF in: AL - 6 borrows from AH: 000f
    T   {aas}, 0x5a5a0100, -, -, -, OF|SF|ZF|PF, AF|CF, 0, eax, 0x5a5a0100  ; no adjust: 0100
    T   {aas}, 0x5a5a010a, -, -, -, 0, AF|CF, AF|CF, eax, 0x5a5a0004  ; adjust: 0004
    T   {aas}, 0x5a5a0003, -, -, -, OF|SF|ZF|AF|PF, AF|CF, AF|CF, eax, 0x5a5afe0d  ; AH 00 wraps: fe0d, upper EAX kept
    T   {aas}, 0x5a5a00f9, -, -, -, CF, AF|CF, 0, eax, 0x5a5a0009  ; CF in does not matter: 0009, CF cleared

    ; ---- AAM (SDM "AAM"): AH = AL / imm8, AL = AL mod imm8 (D4 ib, any base); SF ZF PF from AL; OF AF CF undefined
    T   {aam}, 0x5a5a1263, -, -, -, OF|SF|ZF|AF|CF, SF|ZF|PF, PF, eax, 0x5a5a0909  ; 99 -> 0909
    T   {aam}, 0x5a5a1200, -, -, -, SF, SF|ZF|PF, ZF|PF, eax, 0x5a5a0000  ; 0 -> ZF PF
    T   {aam 16}, 0x5a5a12ff, -, -, -, OF|SF|ZF|AF|CF, SF|ZF|PF, PF, eax, 0x5a5a0f0f  ; base 16: 0f0f
    T   {aam 7}, 0x5a5a1264, -, -, -, SF|ZF|PF, SF|ZF|PF, 0, eax, 0x5a5a0e02  ; base 7: 100 = 14*7 + 2
    T   {aam 255}, 0x5a5a12fe, -, -, -, OF|ZF|AF|PF|CF, SF|ZF|PF, SF, eax, 0x5a5a00fe  ; base ff: AL fe, SF
    T   {aam 255}, 0x5a5a12ff, -, -, -, SF, SF|ZF|PF, ZF|PF, eax, 0x5a5a0100  ; base ff: 0100, ZF

    ; ---- AAD (SDM "AAD"): AL = (AL + AH * imm8) & ff, AH = 0 (D5 ib, any base); SF ZF PF from AL; OF AF CF undefined
    T   {aad}, 0x5a5a0909, -, -, -, OF|SF|ZF|AF|CF, SF|ZF|PF, PF, eax, 0x5a5a0063  ; 0909 -> 99 (63h)
    T   {aad}, 0x5a5a0000, -, -, -, SF, SF|ZF|PF, ZF|PF, eax, 0x5a5a0000  ; ZF PF
    T   {aad 16}, 0x5a5a0f0f, -, -, -, OF|ZF|AF|CF, SF|ZF|PF, SF|PF, eax, 0x5a5a00ff  ; base 16: ff, SF PF
    T   {aad}, 0x5a5a1a05, -, -, -, SF|ZF, SF|ZF|PF, PF, eax, 0x5a5a0009  ; 26*10+5 = 265: truncated to 09
    T   {aad 0}, 0x5a5a3456, -, -, -, OF|SF|ZF|AF|CF, SF|ZF|PF, PF, eax, 0x5a5a0056  ; base 0: AL kept, AH cleared
    T   {aad 7}, 0x5a5a0203, -, -, -, SF|ZF, SF|ZF|PF, PF, eax, 0x5a5a0011  ; base 7: 17 = 11h

    ; ---- AAM 0 (SDM "AAM" exceptions): #DE, a fault: saved EIP = the AAM, registers and flags unchanged
    DE  {aam 0}, 0x5a5a1263, 0xc3c3c3c3, 0xa5a5a5a5, 0x3c3c3c3c, OF|SF|ZF|AF|PF|CF
    DE  {aam 0}, 0x5a5a0000, 0xc3c3c3c3, 0xa5a5a5a5, 0x3c3c3c3c, 0

%endmacro


; ---------------------------------------------------------------------------------
CODE16
main:
    INSTALL_RM_HANDLERS
    PRINT "bcd: real mode", 10
%define MODE_CS 0xf000
%define XA a32
    SUITE
    ENTER_PM32 pm_main

CODE32
pm_main:
    PRINT "bcd: protected mode", 10
%define MODE_CS SEL_CODE32
%define XA a16
    SUITE
    PASS
