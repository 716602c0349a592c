<?php
// Armenian: the terms of the backend's catalogue (docs/translations.md).
return [
    'This article is for members.' => 'Այս հոդվածը անդամների համար է։',
    'Your membership does not include this article.' => 'Ձեր անդամակցությունը չի ներառում այս հոդվածը։',
    'Members read every article in full, and keep our journalism independent.' => 'Անդամները կարդում են բոլոր հոդվածներն ամբողջությամբ և պահում են մեր լրագրության անկախությունը։',
    'Become a member' => 'Դարձեք անդամ',
    'Already a member?' => 'Արդեն անդա՞մ եք',
    'Sign in' => 'Մուտք',
    'Fundraiser progress' => 'Դրամահավաքի ընթացքը',
];
